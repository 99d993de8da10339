#include "cli/copy/copy_command.hpp"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "cli/common/exit_codes.hpp"
#include "cli/common/job_options.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/progress.hpp"
#include "cli/common/side_options.hpp"
#include "cli/common/signals.hpp"
#include "cli/copy/copy_report.hpp"
#include "engine/copy/copy_job.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::cli {
namespace {

struct copy_flags {
  connection_flags connection;
  engine::copy_config config;
  std::string existing;
  std::string slots;
  output_flags output;
  tuning_flags tuning;
  state_flags state;
  std::string read_from = "master";
  unsigned latency_target_ms = 0;
  bool verify = false;
  std::optional<double> verify_sample;
  std::string on_target_loss = "stop";
  std::string string_reads = "get";
};

/// Where the databases left behind are, and what to do: a sentence for the end of a job.
std::string left_behind_text(const engine::copy_report& report, int source_db, bool ignored) {
  std::string dbs;
  std::uint64_t keys = 0;
  for (const auto& db : report.left_behind) {
    if (!dbs.empty()) dbs += ", ";
    dbs += fmt::format("db {} ({} keys)", db.db, with_commas(db.keys));
    keys += db.keys;
  }
  if (ignored) {
    return fmt::format(
        "ferry copied db {} only, as --ignore-other-dbs says; {} key(s) stay "
        "behind in {}",
        source_db, with_commas(keys), dbs);
  }
  return fmt::format(
      "ferry copied db {} only: {} key(s) in {} were NOT copied. Azure Managed Redis and every "
      "cluster have only db 0, so copy each database with a job of its own (--source-db N) into "
      "a separate target, or into this one under a key prefix of your own; if those keys are "
      "meant to stay behind, add --ignore-other-dbs (exit code 0)",
      source_db, with_commas(keys), dbs);
}

/// Fills the inline verifier's settings; an error message for a wrong combination.
std::optional<std::string> apply_verify_flags(copy_flags& flags, const CLI::App& copy) {
  engine::inline_verification& v = flags.config.verify;
  // --verify-sample says what to verify, so it asks for verification too.
  v.enabled = flags.verify || flags.verify_sample.has_value();
  if (flags.verify_sample) {
    if (!(*flags.verify_sample > 0 && *flags.verify_sample <= 1)) {
      return fmt::format("--verify-sample must be a fraction in (0, 1], not {}",
                         *flags.verify_sample);
    }
    v.sample = *flags.verify_sample;
  }
  if (!v.enabled) {
    for (const char* name : {"--diff", "--ttl-tolerance", "--rounds"}) {
      if (copy.count(name) != 0) return fmt::format("{} needs --verify", name);
    }
  }
  return std::nullopt;
}

int run_copy(copy_flags& flags, const CLI::App& command) {
  auto sides = resolve_sides(flags.connection);
  if (!sides) {
    fmt::print(stderr, "ferry copy: {}\n", sides.error());
    return exit_usage;
  }
  engine::copy_config& config = flags.config;
  config.source = std::move(sides->first);
  config.target = std::move(sides->second);
  if (!flags.slots.empty()) {
    auto range = protocol::parse_slot_range(flags.slots);
    if (!range) {
      fmt::print(stderr, "ferry copy: --slots: {}\n", range.error());
      return exit_usage;
    }
    config.slots = *range;
  }
  config.existing = existing_policy_of(flags.existing);
  apply_tuning_flags(config.tune, flags.tuning);
  config.protect.read_from_replicas = flags.read_from == "replicas";
  config.protect.latency_target = std::chrono::milliseconds{flags.latency_target_ms};
  if (auto wrong = apply_verify_flags(flags, command)) {
    fmt::print(stderr, "ferry copy: {}\n", *wrong);
    return exit_usage;
  }
  if (auto wrong = apply_state_flags(config.state, flags.state)) {
    fmt::print(stderr, "ferry copy: {}\n", *wrong);
    return exit_usage;
  }
  config.on_target_loss = flags.on_target_loss == "recopy" ? engine::target_loss_policy::recopy
                                                           : engine::target_loss_policy::stop;
  config.string_reads = flags.string_reads == "get";
  // Every output is checked before anything is touched: a report that cannot be written must
  // not be found out after hours of copying.
  if (auto unusable = check_outputs({{flags.output.report_path, "--report"},
                                     {config.state.path, "--state"},
                                     {config.failed_keys_path, "--failed-keys"},
                                     {config.verify.diff_path, "--diff"}})) {
    fmt::print(stderr, "ferry copy: {}\n", *unusable);
    return exit_failed;
  }

  engine::copy_job job(config);
  // A second signal quits at once; the state file only ever covers acknowledged keys, so the
  // last one written stays valid.
  signal_watch signals(
      [&job] { job.drain(); }, exit_interrupted,
      config.state.path.empty()
          ? "this run kept no state file, so a new run starts over"
          : fmt::format("the last state file written stays valid: run the same command with "
                        "--resume to continue from {}",
                        config.state.path));
  engine::copy_report report;
  {
    std::unique_ptr<progress_printer> progress;
    if (flags.output.progress != "never") {
      progress = std::make_unique<progress_printer>([&job] { return job.progress(); },
                                                    live_progress(flags.output));
    }
    report = job.run();
  }
  fmt::print("{}", summary_text(report));
  for (const auto& warning : report.warnings) fmt::print(stderr, "\nWARNING: {}\n\n", warning);
  if (!report.left_behind.empty()) {
    fmt::print(stderr, "ferry copy: {}\n",
               left_behind_text(report, config.source.where.db, config.ignore_other_dbs));
  }
  if (!flags.output.report_path.empty()) {
    if (auto written = write_json_file(flags.output.report_path, report_json(report)); !written) {
      // The copy's outcome is the summary above; only its report is lost (a partial .tmp file
      // never replaces an earlier report).
      fmt::print(stderr,
                 "ferry copy: --report: {}; the copy itself ended as the summary above says, but "
                 "this run's report is lost: free space (or fix the permissions) there, and run "
                 "`ferry verify` with the same source and target for a report of the target\n",
                 written.error());
      if (report.status == engine::job_status::complete) return exit_failed;
    }
  }
  if (const auto differ = report.verify.differences(); differ != 0) {
    fmt::print(stderr,
               "ferry copy: the inline verifier found {} key(s) that differ on the target{}; run "
               "`ferry verify --repair` with the same source and target to fix them\n",
               with_commas(differ),
               config.verify.diff_path.empty()
                   ? " (add --diff FILE to list them)"
                   : fmt::format(" (listed in {})", config.verify.diff_path));
  }
  switch (report.status) {
    case engine::job_status::complete:
      return exit_ok;
    case engine::job_status::differences:
    case engine::job_status::left_behind:
      return exit_incomplete;
    case engine::job_status::keys_failed:
      fmt::print(stderr, "ferry copy: {} key(s) could not be copied{}\n",
                 with_commas(report.totals.failed),
                 config.failed_keys_path.empty()
                     ? "; run again with --failed-keys FILE to list them"
                     : fmt::format("; they are listed in {}", config.failed_keys_path));
      return exit_incomplete;
    case engine::job_status::interrupted:
      fmt::print(stderr, "ferry copy: interrupted before every key was copied; {}\n",
                 config.state.path.empty()
                     ? "this run kept no state file, so a new run starts over (add --state FILE "
                       "to be able to resume)"
                     : fmt::format("run the same command with --resume to continue from {}",
                                   config.state.path));
      return exit_interrupted;
    case engine::job_status::fatal: {
      const std::string message =
          report.failure ? report.failure->message : "stopped by an unknown error";
      // A job stopped by something outside it (a node gone, a target out of memory) continues
      // where it stopped; the messages that already say how are left as they are.
      const bool says_how = message.find("--resume") != std::string::npos ||
                            message.find("--on-existing") != std::string::npos;
      const bool resumable = !config.state.path.empty() && report.failure &&
                             report.failure->code.category() == protocol::ferry_category();
      fmt::print(stderr, "ferry copy: {}{}\n", message,
                 says_how || !resumable
                     ? ""
                     : fmt::format("; once that is fixed, run the same command with --resume to "
                                   "continue from {}",
                                   config.state.path));
      return exit_failed;
    }
  }
  return exit_failed;
}

}  // namespace

void add_copy_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<copy_flags>();
  CLI::App* copy = app.add_subcommand(
      "copy",
      "Copy every key (value, type and absolute expiry) from the source into the target with "
      "SCAN, DUMP and RESTORE. Works with standalone servers and OSS clusters on either side, "
      "over TLS. Refuses a target that already holds keys unless --on-existing says what to do.");
  copy->footer(exit_codes_help);
  add_connection_options(*copy, flags->connection);
  auto& c = flags->config;
  copy->add_option("--match", c.match, "Copy only keys matching this glob (SCAN MATCH)")
      ->type_name("GLOB");
  copy->add_option("--type", c.type, "Copy only keys of this type (SCAN TYPE)")
      ->check(CLI::IsMember({"string", "list", "set", "zset", "hash", "stream"}))
      ->type_name("TYPE");
  copy->add_option("--slots", flags->slots,
                   "Copy only keys whose hash slot is in A-B, so several ferry processes can "
                   "split one migration")
      ->type_name("A-B");
  add_existing_option(*copy, flags->existing, "target");
  add_output_options(*copy, flags->output, c.failed_keys_path, "copied");
  add_tuning_options(*copy, c.tune, flags->tuning,
                     {.threads_help = "Worker threads, each owning whole source shards (1 to 256; "
                                      "default: the number of cores)"});
  add_state_options(*copy, c.state, flags->state,
                    "Continue the job recorded in --state: finished shards are skipped, the "
                    "others go on from their last fully written SCAN cursor");
  add_rate_options(*copy, c.protect,
                   "Read at most N keys per second from the source, across all shards (0: no "
                   "limit)",
                   "Read at most N DUMP payload bytes per second from the source (accepts KiB, "
                   "MiB suffixes; 0: no limit)");
  copy->add_option("--read-from", flags->read_from,
                   "Cluster sources: read from each master, or from one of its replicas so the "
                   "master stays responsive (a replica may lag; Redis 7.0 replicas also lack "
                   "consumer groups' entries-read)")
      ->check(CLI::IsMember({"master", "replicas"}))
      ->capture_default_str();
  copy->add_option("--source-latency-target", flags->latency_target_ms,
                   "Slow down while the source's round-trip time exceeds MS milliseconds "
                   "(measured with PING beside the copy; 0: off)")
      ->type_name("MS");
  copy->add_flag("--verify", flags->verify,
                 "Compare every key this job copies with the source, right behind the writers "
                 "(on separate connections, values by server-side digests), and report the "
                 "counts. A key rewritten on the source after ferry copied it counts as "
                 "changed, not as a difference; a difference ends with exit code 1 (fix it "
                 "with `ferry verify --repair`)")
      ->group("Inline verification");
  copy->add_option("--verify-sample", flags->verify_sample,
                   "Compare only this fraction (0 < F <= 1) of copied keys, chosen by a hash of "
                   "the key so that a re-run checks the same keys (implies --verify)")
      ->type_name("F")
      ->group("Inline verification");
  copy->add_option("--diff", c.verify.diff_path,
                   "With --verify: write each difference to FILE as JSON lines, as `ferry verify "
                   "--diff` does (kind, key, key_base64, source, target, detail)")
      ->type_name("FILE")
      ->group("Inline verification");
  copy->add_option("--ttl-tolerance", c.verify.ttl_tolerance_ms,
                   "With --verify: expiries this many milliseconds apart still count as equal")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{86'400'000}))
      ->type_name("MS")
      ->capture_default_str()
      ->group("Inline verification");
  copy->add_option("--rounds", c.verify.rounds,
                   "With --verify: comparisons of a key whose source keeps changing before it is "
                   "reported as changed rather than as a difference")
      ->check(CLI::Range(1, 100))
      ->capture_default_str()
      ->group("Inline verification");
  copy->add_option("--on-target-loss", flags->on_target_loss,
                   "A target node that restarts or fails over may lose keys ferry wrote (ferry "
                   "keeps marks on the target to tell): stop (exit code 2; the state file points "
                   "back to what the target still holds, so --resume copies the rest again) or "
                   "recopy (go back and copy again without stopping)")
      ->check(CLI::IsMember({"stop", "recopy"}))
      ->capture_default_str();
  copy->add_option("--string-reads", flags->string_reads,
                   "How string keys are read: get (GET and the expiry, written with SET ... PXAT: "
                   "about half the source's CPU of DUMP; where the target is Redis >= 6.2, and "
                   "while strings are at least 60 % of the keys read) or dump (DUMP and RESTORE, "
                   "as for every other type)")
      ->check(CLI::IsMember({"get", "dump"}))
      ->capture_default_str();
  copy->add_flag("--ignore-other-dbs", c.ignore_other_dbs,
                 "The source's other databases are meant to stay behind: keys there are reported "
                 "but do not make the exit code 1");
  copy->callback([flags, copy, &exit_code] { exit_code = run_copy(*flags, *copy); });
}

}  // namespace ferry::cli
