#include "cli/copy/copy_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

#include "cli/common/exit_codes.hpp"
#include "cli/common/job_options.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/metrics_options.hpp"
#include "cli/common/progress.hpp"
#include "cli/common/service_options.hpp"
#include "cli/common/side_options.hpp"
#include "cli/common/signals.hpp"
#include "cli/copy/copy_report.hpp"
#include "engine/copy/copy_job.hpp"
#include "engine/copy/copy_metrics.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::cli {
namespace {

/// `copy`'s flags: the shared ones and the inline verifier's.
struct copy_command_flags {
  copy_flags common;
  bool verify = false;
  std::optional<double> verify_sample;
  metrics_flags metrics;
  service_flags service;
  std::string mode = "auto";
  std::string functions = "append";
};

/// The metrics phase of a copy that ended with `status`.
engine::metrics::job_phase phase_of(engine::job_status status) {
  using engine::metrics::job_phase;
  switch (status) {
    case engine::job_status::complete:
      return job_phase::complete;
    case engine::job_status::keys_failed:
    case engine::job_status::differences:
    case engine::job_status::left_behind:
      return job_phase::incomplete;
    case engine::job_status::interrupted:
      return job_phase::interrupted;
    case engine::job_status::fatal:
      break;
  }
  return job_phase::failed;
}

/// Fills the inline verifier's settings; an error message for a wrong combination.
std::optional<std::string> apply_verify_flags(copy_command_flags& flags, const CLI::App& copy) {
  engine::inline_verification& v = flags.common.config.verify;
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

int run_copy(copy_command_flags& all, const CLI::App& command) {
  copy_flags& flags = all.common;
  if (auto wrong = apply_resume_if_exists(all.service, flags.config.state)) {
    fmt::print(stderr, "ferry copy: {}\n", *wrong);
    return exit_usage;
  }
  if (auto wrong = apply_copy_flags(flags, "copy")) {
    fmt::print(stderr, "{}\n", *wrong);
    return exit_usage;
  }
  engine::copy_config& config = flags.config;
  config.force_struct = all.mode == "struct";
  if (all.functions == "replace") config.functions = engine::function_policy::replace;
  if (all.functions == "flush") config.functions = engine::function_policy::flush;
  if (all.functions == "skip") config.functions = engine::function_policy::skip;
  auto part = split_part(all.service, std::getenv("JOB_COMPLETION_INDEX"));
  if (!part) {
    fmt::print(stderr, "ferry copy: {}\n", part.error());
    return exit_usage;
  }
  config.part = *part;
  if (config.part && config.existing == engine::existing_policy::unset) {
    fmt::print(stderr,
               "ferry copy: --shard-count {}: the parts write into one target at once, so each "
               "finds the keys of the others there; add --on-existing replace (or skip)\n",
               config.part->count);
    return exit_usage;
  }
  if (auto wrong = apply_verify_flags(all, command)) {
    fmt::print(stderr, "ferry copy: {}\n", *wrong);
    return exit_usage;
  }
  if (auto unusable = check_outputs(flags, {{config.verify.diff_path, "--diff"}})) {
    fmt::print(stderr, "ferry copy: {}\n", *unusable);
    return exit_failed;
  }

  // Said before the copy runs (a source newer than the target), and not again at the end.
  std::vector<std::string> announced;
  config.on_notice = [&announced](const std::string& text) {
    fmt::print(stderr, "NOTE: {}\n", text);
    announced.push_back(text);
  };
  // The job first: the metrics endpoint's collector and health probe read it until the
  // endpoint is gone.
  engine::copy_job job(config);
  auto endpoint = job_endpoint::start(all.metrics, "copy", config.source, config.target);
  if (!endpoint) {
    fmt::print(stderr, "ferry copy: {}\n", endpoint.error());
    return exit_failed;
  }
  job_endpoint* metrics = endpoint->get();
  if (metrics != nullptr) {
    metrics->keep(engine::expose_copy(metrics->registry(), metrics->families(), job));
    metrics->health().watch([&job]() -> std::optional<std::string> {
      auto failure = job.failure();
      // With --on-target-loss recopy a target that lost data is copied again, not a failure.
      if (!failure || (failure->code == engine::job_error::target_lost &&
                       job.config().on_target_loss == engine::target_loss_policy::recopy)) {
        return std::nullopt;
      }
      return failure->message;
    });
  }
  // A second signal quits at once; the state file only ever covers acknowledged keys, so the
  // last one written stays valid.
  signal_watch signals(
      [&job, metrics] {
        job.drain();
        if (metrics != nullptr) metrics->draining();
      },
      exit_interrupted,
      config.state.path.empty()
          ? "this run kept no state file, so a new run starts over"
          : fmt::format("the last state file written stays valid: run the same command with "
                        "--resume to continue from {}",
                        config.state.path));
  // After the signal watch, so that it still listens while the endpoint lingers.
  const linger_at_exit linger(metrics);
  engine::copy_report report;
  {
    const bool live = live_progress(flags);
    std::unique_ptr<progress_printer> progress;
    if (flags.output.progress != "never") {
      progress = std::make_unique<progress_printer>([&job] { return job.progress(); }, live);
    }
    if (metrics != nullptr) metrics->set_phase(engine::metrics::job_phase::running);
    report = job.run();
  }
  if (metrics != nullptr) {
    metrics->ended(phase_of(report.status), report.failure ? report.failure->message : "");
  }
  fmt::print("{}", summary_text(report));
  for (const auto& warning : report.warnings) {
    if (std::find(announced.begin(), announced.end(), warning) != announced.end()) continue;
    fmt::print(stderr, "\nWARNING: {}\n\n", warning);
  }
  if (!report.left_behind.empty()) {
    fmt::print(stderr, "ferry copy: {}\n",
               left_behind_text(report, config.source.where.db, config.ignore_other_dbs));
  }
  if (!flags.output.report_path.empty()) {
    if (auto written = write_json_file(flags.output.report_path, report_json(report)); !written) {
      // The job's outcome is the summary above; only its report is lost (a partial .tmp file
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
  auto flags = std::make_shared<copy_command_flags>();
  CLI::App* copy = app.add_subcommand(
      "copy",
      "Copy every key (value, type and absolute expiry) from the source into the target with "
      "SCAN, DUMP and RESTORE. Works with standalone servers and OSS clusters on either side, "
      "over TLS. Refuses a target that already holds keys unless --on-existing says what to do.");
  copy->footer(exit_codes_help);
  add_copy_options(*copy, flags->common);
  auto& c = flags->common.config;
  copy->add_option("--big-key-bytes", c.big_key_bytes,
                   "Keys whose DUMP payload is larger are never held whole: they are copied in "
                   "chunks with type commands (struct mode), 64 KiB to 64 GiB (accepts KiB, MiB, "
                   "GiB; at most a worker thread's share of --max-inflight-bytes)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{64} << 10, std::size_t{64} << 30))
      ->capture_default_str();
  copy->add_option("--mode", flags->mode,
                   "How keys are written: auto (RESTORE, and type commands for what RESTORE "
                   "cannot carry: a payload the target cannot read, a target that refuses "
                   "RESTORE, keys over its bulk limit or --big-key-bytes) or struct (type "
                   "commands for every key)")
      ->check(CLI::IsMember({"auto", "struct"}))
      ->capture_default_str();
  copy->add_option("--functions", flags->functions,
                   "Function libraries (Redis 7), copied to every target master before the "
                   "keys: append (a library of the same name on the target stops the job), "
                   "replace (replace those), flush (delete every target library first) or skip")
      ->check(CLI::IsMember({"append", "replace", "flush", "skip"}))
      ->capture_default_str();
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
  add_resume_if_exists(*copy, flags->service, copy->get_option("--resume"));
  add_split_options(*copy, flags->service);
  add_metrics_options(*copy, flags->metrics);
  copy->callback([flags, copy, &exit_code] { exit_code = run_copy(*flags, *copy); });
}

}  // namespace ferry::cli
