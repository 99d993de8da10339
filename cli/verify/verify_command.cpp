#include "cli/verify/verify_command.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <memory>

#include "cli/common/exit_codes.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/metrics_options.hpp"
#include "cli/common/progress.hpp"
#include "cli/common/side_options.hpp"
#include "cli/common/signals.hpp"
#include "cli/verify/verify_report.hpp"
#include "engine/verify/verifier.hpp"
#include "engine/verify/verify_metrics.hpp"

namespace ferry::cli {
namespace {

struct verify_flags {
  connection_flags connection;
  engine::verify_config config;
  std::string mode = "full";
  std::int64_t ttl_tolerance_ms = 1000;
  std::string expiry_reads = "auto";
  unsigned recheck_pause_ms = 200;
  bool no_extra = false;
  std::string report_path;
  std::string progress = "auto";
  unsigned connect_timeout_ms = 10'000;
  unsigned timeout_ms = 30'000;
  unsigned max_retry_time_s = 300;
  metrics_flags metrics;
};

/// The metrics phase of a verify that ended with `status`.
engine::metrics::job_phase verify_phase_of(engine::verify_status status) {
  using engine::metrics::job_phase;
  switch (status) {
    case engine::verify_status::equal:
      return job_phase::complete;
    case engine::verify_status::differences:
      return job_phase::incomplete;
    case engine::verify_status::interrupted:
      return job_phase::interrupted;
    case engine::verify_status::fatal:
      break;
  }
  return job_phase::failed;
}

int run_verify(verify_flags& flags) {
  auto sides = resolve_sides(flags.connection);
  if (!sides) {
    fmt::print(stderr, "ferry verify: {}\n", sides.error());
    return exit_usage;
  }
  engine::verify_config& config = flags.config;
  config.source = std::move(sides->first);
  config.target = std::move(sides->second);
  config.compare.mode =
      flags.mode == "quick" ? engine::compare_mode::quick : engine::compare_mode::full;
  config.compare.ttl_tolerance_ms = flags.ttl_tolerance_ms;
  config.compare.prove_no_expiry = flags.expiry_reads == "auto";
  config.compare.recheck_pause = std::chrono::milliseconds{flags.recheck_pause_ms};
  config.extra = !flags.no_extra;
  config.tune.connect_timeout = std::chrono::milliseconds{flags.connect_timeout_ms};
  config.tune.io_timeout = std::chrono::milliseconds{flags.timeout_ms};
  config.tune.max_retry_time = std::chrono::seconds{flags.max_retry_time_s};

  for (const auto& [path, flag] :
       {std::pair{flags.report_path, "--report"}, std::pair{config.diff_path, "--diff"}}) {
    if (auto usable = check_writable(path, flag); !usable) {
      fmt::print(stderr, "ferry verify: {}\n", usable.error());
      return exit_failed;
    }
  }
  // The job first: the metrics endpoint's collector reads it until the endpoint is gone.
  engine::verifier job(config);
  auto endpoint = job_endpoint::start(flags.metrics, "verify", config.source, config.target);
  if (!endpoint) {
    fmt::print(stderr, "ferry verify: {}\n", endpoint.error());
    return exit_failed;
  }
  job_endpoint* metrics = endpoint->get();
  if (metrics != nullptr) {
    metrics->keep(engine::expose_verify(metrics->registry(), metrics->families(), job));
    metrics->health().watch([&job]() -> std::optional<std::string> {
      auto failure = job.failure();
      return failure ? std::optional<std::string>(failure->message) : std::nullopt;
    });
  }
  signal_watch signals(
      [&job, metrics] {
        job.drain();
        if (metrics != nullptr) metrics->draining();
      },
      exit_interrupted);
  // After the signal watch, so that it still listens while the endpoint lingers.
  const linger_at_exit linger(metrics);
  engine::verify_report report;
  {
    const bool live = flags.progress == "always" || (flags.progress == "auto" && isatty(2));
    std::unique_ptr<progress_printer> progress;
    if (flags.progress != "never") {
      progress = std::make_unique<progress_printer>(
          [&job] {
            const engine::verify_counts c = job.progress();
            return progress_sample{c.settled(),
                                   c[engine::verify_counter::estimated],
                                   std::nullopt,
                                   "differences",
                                   c.differences() + c[engine::verify_counter::changed],
                                   {}};
          },
          live);
    }
    if (metrics != nullptr) metrics->set_phase(engine::metrics::job_phase::running);
    report = job.run();
  }
  if (metrics != nullptr) {
    metrics->ended(verify_phase_of(report.status), report.failure ? report.failure->message : "");
  }
  fmt::print("{}", verify_summary_text(report, flags.mode, config.repair));
  for (const auto& warning : report.warnings) fmt::print(stderr, "warning: {}\n", warning);
  if (!flags.report_path.empty()) {
    if (auto written = write_json_file(flags.report_path, verify_report_json(report, flags.mode));
        !written) {
      fmt::print(stderr,
                 "ferry verify: --report: {}; the comparison ended as the summary above says, "
                 "but its report is lost: free space (or fix the permissions) there and run the "
                 "same command again\n",
                 written.error());
      if (report.status == engine::verify_status::equal) return exit_failed;
    }
  }
  switch (report.status) {
    case engine::verify_status::equal:
      return exit_ok;
    case engine::verify_status::differences:
      fmt::print(stderr, "ferry verify: the target differs from the source{}\n",
                 config.diff_path.empty()
                     ? "; run again with --diff FILE to list every difference"
                     : fmt::format("; every difference is listed in {}", config.diff_path));
      return exit_incomplete;
    case engine::verify_status::interrupted:
      fmt::print(stderr, "ferry verify: interrupted before every key was compared\n");
      return exit_interrupted;
    case engine::verify_status::fatal:
      fmt::print(stderr, "ferry verify: {}\n",
                 report.failure ? report.failure->message : "stopped by an unknown error");
      return exit_failed;
  }
  return exit_failed;
}

}  // namespace

void add_verify_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<verify_flags>();
  CLI::App* verify = app.add_subcommand(
      "verify",
      "Prove that the target equals the source: every source key present on the target with the "
      "same type, value and absolute expiry, and no key only on the target. Values are compared "
      "by server-side digests, and element by element only where those differ. Exit code 0 "
      "only when everything matches.");
  verify->footer(exit_codes_help);
  add_connection_options(*verify, flags->connection);
  auto& c = flags->config;
  verify
      ->add_option("--diff", c.diff_path,
                   "Write every difference to FILE as JSON lines: kind (missing, extra, type, "
                   "value, expiry, changed), key, key_base64, source, target, detail")
      ->type_name("FILE");
  verify
      ->add_option("--mode", flags->mode,
                   "full: compare values too; quick: existence, type, expiry and length only")
      ->check(CLI::IsMember({"quick", "full"}))
      ->capture_default_str();
  verify
      ->add_option("--ttl-tolerance", flags->ttl_tolerance_ms,
                   "Expiries this many milliseconds apart still count as equal")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{86'400'000}))
      ->type_name("MS")
      ->capture_default_str();
  verify
      ->add_option("--expiry-reads", flags->expiry_reads,
                   "How each key's expiry is read, on either side: auto (where a server's INFO "
                   "shows its database has no key with an expiry, checked before and after each "
                   "batch on the master itself, keys are read without an expiry command, as "
                   "ferry copy does) or per-key (PEXPIRETIME, or PTTL before Redis 7, beside "
                   "every key)")
      ->check(CLI::IsMember({"auto", "per-key"}))
      ->capture_default_str();
  auto* no_extra = verify->add_flag("--no-extra", flags->no_extra,
                                    "Do not scan the target for keys the source lacks");
  verify
      ->add_option("--rounds", c.compare.rounds,
                   "Comparisons of a key whose source keeps changing before it is reported as "
                   "changed (a live source)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  verify
      ->add_option("--recheck-pause", flags->recheck_pause_ms,
                   "Milliseconds to wait before looking again at a key that differs (doubling "
                   "each round); raise it to the lag of a sync that keeps the target up to date")
      ->check(CLI::Range(1, 600'000))
      ->type_name("MS")
      ->capture_default_str();
  auto* repair = verify->add_flag(
      "--repair", c.repair,
      "Re-copy keys that are missing or differ (DUMP + RESTORE ... ABSTTL REPLACE), then check "
      "them again");
  verify
      ->add_flag("--repair-delete-extra", c.delete_extra,
                 "With --repair: also delete keys that exist only on the target")
      ->needs(repair)
      ->excludes(no_extra);
  verify
      ->add_option("--digest-max-bytes", c.compare.digest_max_bytes,
                   "Keys estimated larger than this (a string's length, 64 bytes per element of "
                   "a collection) are compared element by element instead of by a server-side "
                   "digest of their DUMP, which the server would have to hold (accepts KiB, MiB, "
                   "GiB)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  verify->add_option("--match", c.match, "Verify only keys matching this glob (on both sides)")
      ->type_name("GLOB");
  verify->add_option("--report", flags->report_path, "Write the final counts as JSON to FILE")
      ->type_name("FILE");
  verify
      ->add_option("--progress", flags->progress,
                   "Progress on stderr: auto (a live line on a terminal, a log line every 5 s "
                   "otherwise), always (live), never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  verify
      ->add_option("--threads", c.tune.threads,
                   "Worker threads, each owning whole shards (1 to 256; default: the number of "
                   "cores)")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  verify->add_option("--scan-count", c.tune.scan_count, "SCAN COUNT hint")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  // The copy's measured default (1024) was not measured for verify, which keeps its own.
  c.tune.batch_keys = 512;
  verify->add_option("--batch-keys", c.tune.batch_keys, "Keys compared per pipeline")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  verify
      ->add_option("--comparers", c.comparers_per_shard,
                   "Comparisons in flight per source shard (each with its own connections)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  verify
      ->add_option("--connect-timeout", flags->connect_timeout_ms,
                   "Milliseconds allowed for connecting and the TLS handshake")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  verify
      ->add_option("--timeout", flags->timeout_ms,
                   "Milliseconds any read or write may go without progress before the "
                   "connection is dropped and the batch retried")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  verify
      ->add_option("--max-retry-time", flags->max_retry_time_s,
                   "Seconds to keep retrying an unreachable node before stopping the job")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  add_metrics_options(*verify, flags->metrics);
  verify->callback([flags, &exit_code] { exit_code = run_verify(*flags); });
}

}  // namespace ferry::cli
