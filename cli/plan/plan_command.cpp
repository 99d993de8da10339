#include "cli/plan/plan_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "cli/common/exit_codes.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/side_options.hpp"
#include "cli/plan/plan_output.hpp"
#include "engine/plan/plan_job.hpp"

namespace ferry::cli {
namespace {

constexpr const char* plan_exit_codes =
    "Exit codes: 0 ready; 1 ready with warnings; 2 blocked, or the plan could not run (a side "
    "unreachable, login or TLS refused); 64 bad command line.";

struct plan_flags {
  connection_flags connection;
  engine::plan_config config;
  std::string json_path;
  std::string sku_table_path;
  double observe_s = 5;
  double headroom_percent = 10;
  unsigned connect_timeout_ms = 10'000;
  unsigned timeout_ms = 30'000;
  bool quiet = false;
};

int run_plan_command(plan_flags& flags) {
  auto source = resolve_one_side(flags.connection, true);
  if (!source) {
    fmt::print(stderr, "ferry plan: {}\n", source.error());
    return exit_usage;
  }
  engine::plan_config& config = flags.config;
  config.source = std::move(*source);
  if (!flags.connection.target.url.empty()) {
    auto target = resolve_one_side(flags.connection, false);
    if (!target) {
      fmt::print(stderr, "ferry plan: {}\n", target.error());
      return exit_usage;
    }
    config.target = std::move(*target);
  }
  std::optional<engine::sku_table> table;
  if (!flags.sku_table_path.empty()) {
    std::ifstream in(flags.sku_table_path);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = engine::parse_sku_table(text.str());
    if (!in || !parsed) {
      fmt::print(stderr, "ferry plan: --sku-table '{}': {}\n", flags.sku_table_path,
                 in ? parsed.error() : std::string("cannot read it"));
      return exit_usage;
    }
    table = std::move(*parsed);
    config.skus = &*table;
  }
  config.observe = std::chrono::milliseconds{static_cast<std::int64_t>(flags.observe_s * 1000)};
  config.headroom = flags.headroom_percent / 100;
  config.tune.connect_timeout = std::chrono::milliseconds{flags.connect_timeout_ms};
  config.tune.io_timeout = std::chrono::milliseconds{flags.timeout_ms};
  if (!flags.quiet) {
    config.progress = [](std::string_view stage) { fmt::print(stderr, "ferry plan: {}\n", stage); };
  }

  const engine::plan_report report = engine::run_plan(config);
  fmt::print("{}", plan_text(report));
  if (!flags.json_path.empty()) {
    if (auto written = write_json_file(flags.json_path, plan_json(report)); !written) {
      fmt::print(stderr,
                 "ferry plan: --json: {}; free space (or fix the permissions) there and run the "
                 "same command again\n",
                 written.error());
      return exit_failed;
    }
  }
  if (report.failure) {
    fmt::print(stderr, "ferry plan: {}\n", report.failure->message);
    return exit_failed;
  }
  switch (report.verdict) {
    case engine::plan_verdict::ready:
      return exit_ok;
    case engine::plan_verdict::with_warnings:
      return exit_incomplete;
    case engine::plan_verdict::blocked:
      return exit_failed;
  }
  return exit_failed;
}

}  // namespace

void add_plan_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<plan_flags>();
  CLI::App* plan = app.add_subcommand(
      "plan",
      "Look at a source (and a target) before moving anything, without writing to either: "
      "version, topology, memory, keyspace, traffic, a sample of keys (types, sizes, expiries, "
      "the largest), the size needed on Azure Managed Redis per tier, the copy time at the "
      "source's measured DUMP rate, and the blockers and warnings of the migration, each with "
      "what to do.");
  plan->footer(plan_exit_codes);
  add_connection_options(*plan, flags->connection);
  plan->get_option("--target")
      ->required(false)
      ->description(
          "Target URL, when the target exists: redis[s]://[user[:password]@]host[:port][/db] "
          "(any node of a cluster); without it the target's checks are skipped");
  auto& c = flags->config;
  plan->add_option("--sample", c.sample_keys,
                   "Keys to look at, spread over the source's masters in proportion to their keys "
                   "(SCAN from the start of each)")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100'000'000}))
      ->type_name("N")
      ->capture_default_str();
  plan->add_flag("--scan-all", c.scan_all,
                 "Look at every key (rate-limited by --max-keys-per-sec), to find every key of at "
                 "least --big-key-bytes");
  plan->add_option("--big-key-bytes", c.big_key_bytes,
                   "Keys at least this large are listed as big (accepts KiB, MiB, GiB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  plan->add_option("--max-keys-per-sec", c.max_keys_per_sec,
                   "Keys looked at per second over all masters (TYPE, PTTL and MEMORY USAGE of "
                   "each; the DUMP probe counts too), so that a production source stays "
                   "responsive")
      ->check(CLI::Range(1.0, 10'000'000.0))
      ->capture_default_str();
  plan->add_option("--probe-keys", c.probe_keys,
                   "Keys per master the DUMP-rate probe reads (DUMP + PEXPIRETIME of sampled keys "
                   "under 64 KiB, as a copy reads them); 0 to skip the probe")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1'000'000}))
      ->capture_default_str();
  plan->add_option("--observe", flags->observe_s,
                   "Seconds (at least) over which the application's traffic is measured")
      ->check(CLI::Range(0.0, 3600.0))
      ->type_name("SECONDS")
      ->capture_default_str();
  plan->add_option("--headroom", flags->headroom_percent,
                   "Growth, in percent of the data, that the recommended size must also hold")
      ->check(CLI::Range(0.0, 1000.0))
      ->type_name("PERCENT")
      ->capture_default_str();
  plan->add_option("--sku-table", flags->sku_table_path,
                   "Azure Managed Redis sizes as JSON, instead of the table built in (same format "
                   "as engine/plan/azure_managed_redis_skus.json)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  plan->add_option("--json", flags->json_path, "Write every figure of the report as JSON to FILE")
      ->type_name("FILE");
  plan->add_flag("--quiet", flags->quiet, "No stage lines on stderr");
  plan->add_option("--connect-timeout", flags->connect_timeout_ms,
                   "Milliseconds allowed for connecting and the TLS handshake")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  plan->add_option("--timeout", flags->timeout_ms,
                   "Milliseconds any read or write may go without progress")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  plan->callback([flags, &exit_code] { exit_code = run_plan_command(*flags); });
}

}  // namespace ferry::cli
