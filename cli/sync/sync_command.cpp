#include "cli/sync/sync_command.hpp"

#include <fmt/format.h>

#include <memory>
#include <mutex>
#include <optional>

#include "cli/common/exit_codes.hpp"
#include "cli/common/job_options.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/metrics_options.hpp"
#include "cli/common/progress.hpp"
#include "cli/common/service_options.hpp"
#include "cli/common/signals.hpp"
#include "cli/sync/sync_report.hpp"
#include "engine/sync/sync_job.hpp"
#include "engine/sync/sync_metrics.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::cli {
namespace {

/// `sync`'s flags: copy's, and how to stream, converge and cut over.
struct sync_flags {
  copy_flags common;
  engine::sync_config config;
  unsigned settle_ms = 2'000;
  unsigned pause_timeout_ms = 10'000;
  unsigned hold_ms = 50;
  metrics_flags metrics;
  service_flags service;
};

/// The metrics phase of a sync that ended with `status`.
engine::metrics::job_phase phase_of(engine::sync_status status) {
  using engine::metrics::job_phase;
  switch (status) {
    case engine::sync_status::converged:
    case engine::sync_status::cut_over:
      return job_phase::complete;
    case engine::sync_status::keys_failed:
    case engine::sync_status::cutover_failed:
      return job_phase::incomplete;
    case engine::sync_status::interrupted:
      return job_phase::interrupted;
    case engine::sync_status::fatal:
      break;
  }
  return job_phase::failed;
}

int run_sync(sync_flags& all) {
  copy_flags& flags = all.common;
  if (auto wrong = apply_resume_if_exists(all.service, flags.config.state)) {
    fmt::print(stderr, "ferry sync: {}\n", *wrong);
    return exit_usage;
  }
  if (auto wrong = apply_copy_flags(flags, "sync")) {
    fmt::print(stderr, "{}\n", *wrong);
    return exit_usage;
  }
  engine::sync_config& config = all.config;
  config.copy = flags.config;
  config.settle = std::chrono::milliseconds{all.settle_ms};
  config.pause_timeout = std::chrono::milliseconds{all.pause_timeout_ms};
  config.hold = std::chrono::milliseconds{all.hold_ms};
  if (config.cutover_verify_keys != 0 && !config.cutover) {
    fmt::print(stderr, "ferry sync: --cutover-verify needs --cutover\n");
    return exit_usage;
  }
  if (auto unusable = check_outputs(flags, {})) {
    fmt::print(stderr, "ferry sync: {}\n", *unusable);
    return exit_failed;
  }

  // The job first: the metrics endpoint's collector and health probe read it until the
  // endpoint is gone.
  engine::sync_job job(config);
  auto endpoint = job_endpoint::start(all.metrics, "sync", config.copy.source, config.copy.target);
  if (!endpoint) {
    fmt::print(stderr, "ferry sync: {}\n", endpoint.error());
    return exit_failed;
  }
  job_endpoint* metrics = endpoint->get();
  if (metrics != nullptr) {
    metrics->keep(engine::expose_sync(metrics->registry(), metrics->families(), job));
    metrics->health().watch([&job]() -> std::optional<std::string> {
      auto failure = job.failure();
      // With --on-target-loss recopy a target that lost data is copied again, not a failure.
      if (!failure ||
          (failure->code == engine::job_error::target_lost &&
           job.snapshot().config().on_target_loss == engine::target_loss_policy::recopy)) {
        return std::nullopt;
      }
      return failure->message;
    });
  }
  signal_watch signals(
      [&job, metrics] {
        job.drain();
        if (metrics != nullptr) metrics->draining();
      },
      exit_interrupted,
      config.copy.state.path.empty()
          ? "this run kept no state file, so a new run starts over"
          : fmt::format("the last state file written stays valid: run the same command with "
                        "--resume to continue from {}",
                        config.copy.state.path),
      [&job] {
        fmt::print(stderr, "\nferry: SIGUSR1 received: cutting over at the next convergence\n");
        job.cut_over();
      });
  // After the signal watch, so that it still listens while the endpoint lingers.
  const linger_at_exit linger(metrics);
  engine::sync_report report;
  {
    std::unique_ptr<progress_printer> progress;
    if (flags.output.progress != "never") {
      // The lag shown is that of the last interval, not of the whole job.
      auto last = std::make_shared<engine::lag_snapshot>();
      progress = std::make_unique<progress_printer>(
          [&job, last] {
            const engine::sync_progress now = job.progress();
            const engine::lag_snapshot window = now.lag.since(*last);
            *last = now.lag;
            const engine::counts& c = now.snapshot;
            return progress_sample{c.settled(), c.estimated, c.bytes,
                                   "failed",    c.failed,    progress_text(now, window)};
          },
          live_progress(flags));
    }
    if (metrics != nullptr) metrics->set_phase(engine::metrics::job_phase::running);
    report = job.run();
  }
  if (metrics != nullptr) {
    // Keys left behind in other databases make the exit code 1 (see below), so the phase too.
    const bool other_dbs = !report.snapshot.left_behind.empty() && !config.copy.ignore_other_dbs;
    const auto phase = phase_of(report.status) == engine::metrics::job_phase::complete && other_dbs
                           ? engine::metrics::job_phase::incomplete
                           : phase_of(report.status);
    metrics->ended(phase, report.failure ? report.failure->message : "");
  }
  fmt::print("{}", sync_summary_text(report));
  for (const auto& warning : report.snapshot.warnings) {
    fmt::print(stderr, "\nWARNING: {}\n\n", warning);
  }
  for (const auto& warning : report.warnings) fmt::print(stderr, "\nWARNING: {}\n\n", warning);
  const bool left_behind = !report.snapshot.left_behind.empty();
  if (left_behind) {
    fmt::print(stderr, "ferry sync: {}\n",
               left_behind_text(report.snapshot, config.copy.source.where.db,
                                config.copy.ignore_other_dbs));
  }
  if (!flags.output.report_path.empty()) {
    if (auto written = write_json_file(flags.output.report_path, sync_report_json(report));
        !written) {
      // The job's outcome is the summary above; only its report is lost (a partial .tmp file
      // never replaces an earlier report).
      fmt::print(stderr,
                 "ferry sync: --report: {}; the sync itself ended as the summary above says, but "
                 "this run's report is lost: free space (or fix the permissions) there, and run "
                 "`ferry verify` with the same source and target for a report of the target\n",
                 written.error());
      return exit_failed;
    }
  }
  const std::string& state = config.copy.state.path;
  const std::string resume =
      state.empty()
          ? std::string(" (add --state FILE to be able to resume)")
          : fmt::format("; run the same command with --resume to continue from {}", state);
  switch (report.status) {
    case engine::sync_status::converged:
    case engine::sync_status::cut_over:
      return left_behind && !config.copy.ignore_other_dbs ? exit_incomplete : exit_ok;
    case engine::sync_status::keys_failed:
      fmt::print(stderr, "ferry sync: some keys could not be written to the target{}\n",
                 config.copy.failed_keys_path.empty()
                     ? "; run again with --failed-keys FILE to list them"
                     : fmt::format("; they are listed in {}", config.copy.failed_keys_path));
      return exit_incomplete;
    case engine::sync_status::cutover_failed:
      fmt::print(stderr, "ferry sync: the cut-over did not complete: {}{}\n",
                 report.cutover ? report.cutover->failure : std::string("unknown reason"), resume);
      return exit_incomplete;
    case engine::sync_status::interrupted:
      fmt::print(stderr, "ferry sync: stopped before cut-over{}\n", resume);
      return exit_interrupted;
    case engine::sync_status::fatal: {
      const std::string message =
          report.failure ? report.failure->message : "stopped by an unknown error";
      const bool says_how = message.find("--resume") != std::string::npos ||
                            message.find("--on-existing") != std::string::npos ||
                            message.find("notify-keyspace-events") != std::string::npos;
      const bool resumable = !state.empty() && report.failure &&
                             report.failure->code.category() == protocol::ferry_category();
      fmt::print(stderr, "ferry sync: {}{}\n", message,
                 says_how || !resumable ? std::string{} : resume);
      return exit_failed;
    }
  }
  return exit_failed;
}

}  // namespace

void add_sync_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<sync_flags>();
  CLI::App* sync = app.add_subcommand(
      "sync",
      "Keep the target in step with a live source until cut-over: subscribe to keyspace events "
      "on every source master, copy a snapshot as `copy` does, then re-copy (or delete) every "
      "key an event names, and reconcile after any gap in the events (a dropped subscriber, "
      "FLUSHDB, a failover, a resumed job). Runs until SIGINT/SIGTERM, --until-converged or "
      "--cutover. Needs notify-keyspace-events with K (or E) and A on the source.");
  sync->footer(
      "Exit codes: 0 converged (--until-converged) or cut over (--cutover); 1 some keys failed, "
      "or the cut-over did not complete (the source was unpaused); 2 could not run or stopped by "
      "a fatal error; 3 stopped by SIGINT/SIGTERM (the state file is written: --resume "
      "continues); 64 bad command line.");
  add_copy_options(*sync, flags->common);
  add_resume_if_exists(*sync, flags->service, sync->get_option("--resume"));
  add_metrics_options(*sync, flags->metrics);
  engine::sync_config& c = flags->config;
  const char* group = "Live sync";
  sync->add_flag("--until-converged", c.until_converged,
                 "End (exit code 0) the first time the target has caught up (snapshot done, no "
                 "reconcile pending, no key left to re-copy) and stayed so for --settle")
      ->group(group);
  sync->add_option("--settle", flags->settle_ms,
                   "Milliseconds the job must stay converged before --until-converged ends it or "
                   "--cutover pauses the source")
      ->check(CLI::Range(0, 3'600'000))
      ->type_name("MS")
      ->capture_default_str()
      ->group(group);
  sync->add_flag("--cutover", c.cutover,
                 "Once converged: pause the source's writes (CLIENT PAUSE WRITE, Redis >= 6.2) "
                 "for at most --pause-timeout, re-copy what is left, print the moment the "
                 "application may switch to the target, and exit; if it cannot finish within "
                 "the pause, unpause the source and say why (exit code 1)")
      ->group(group);
  sync->add_option("--pause-timeout", flags->pause_timeout_ms,
                   "Longest the source's writes stay paused for --cutover, in milliseconds (the "
                   "server lifts the pause by itself after it, even if ferry is gone)")
      ->check(CLI::Range(100, 3'600'000))
      ->type_name("MS")
      ->capture_default_str()
      ->group(group);
  sync->add_option("--cutover-verify", c.cutover_verify_keys,
                   "With --cutover: once drained, compare N random keys of each source master "
                   "(RANDOMKEY) with the target; any difference fails the cut-over")
      ->check(CLI::Range(0, 1'000'000))
      ->type_name("N")
      ->group(group);
  sync->add_flag("--configure-notifications", c.configure_notifications,
                 "Where notify-keyspace-events lacks classes ferry needs, set it with CONFIG SET "
                 "for the job and put the old value back at the end")
      ->group(group);
  sync->add_option("--max-dirty-bytes", c.max_dirty_bytes,
                   "Memory for keys changed on the source and not yet on the target, over all "
                   "shards, 1 MiB to 64 GiB (accepts KiB, MiB, GiB); a shard whose share is full "
                   "reconciles instead of recording each change")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1} << 20, std::size_t{64} << 30))
      ->capture_default_str()
      ->group(group);
  sync->add_option("--recopy-interval", flags->hold_ms,
                   "A key written again while its re-copy is in flight is re-copied at most once "
                   "per this many milliseconds (a key written 10,000 times a second costs "
                   "1000/MS re-copies a second)")
      ->check(CLI::Range(0, 60'000))
      ->type_name("MS")
      ->capture_default_str()
      ->group(group);
  sync->callback([flags, &exit_code] { exit_code = run_sync(*flags); });
}

}  // namespace ferry::cli
