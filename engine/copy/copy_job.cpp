#include "engine/copy/copy_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "engine/copy/copy_plan.hpp"
#include "engine/copy/copy_run.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/shard_book.hpp"
#include "engine/copy/shard_pass.hpp"
#include "engine/topology/source_watch.hpp"
#include "engine/topology/target_guard.hpp"
#include "engine/verify/diff_file.hpp"

namespace ferry::engine {

using protocol::errc;
using protocol::failure;

namespace {

/// Times a job goes back and copies again after target losses before it gives up.
constexpr int max_recopies = 10;

/// Loads the state file to resume, or makes sure a fresh job does not overwrite one.
maybe<std::optional<checkpoint>> previous_state(const copy_config& config) {
  const job_identity now = identity_of(config);
  return load_previous_state(
      config.state, "job", [&](const checkpoint& loaded) -> std::optional<std::string> {
        if (loaded.job == now) return std::nullopt;
        return fmt::format(
            "belongs to another job ({}); run with the same source, target and "
            "filters, or remove the file to start over",
            describe_differences(loaded.job, now));
      });
}

}  // namespace

copy_job::copy_job(copy_config config) : config_(std::move(config)) {}
copy_job::~copy_job() = default;

counts copy_job::progress() const { return shards_.total(); }

copy_report copy_job::run() {
  const auto started = std::chrono::steady_clock::now();
  copy_report report;
  std::optional<checkpoint> restart;
  std::vector<std::string> recovered;
  for (int attempt = 0;; ++attempt) {
    report = copy_report{};
    report.source = config_.source.where.redacted();
    report.target = config_.target.where.redacted();
    report.verified = config_.verify.enabled;
    report.verify_sample = config_.verify.sample;
    restart = run_stages(report, restart ? &*restart : nullptr);
    const bool lost = report.failure && report.failure->code == job_error::target_lost;
    if (!lost || config_.on_target_loss != target_loss_policy::recopy || !restart ||
        attempt == max_recopies || control_.draining()) {
      break;
    }
    // --on-target-loss recopy: go back to what the target still holds and copy the rest again.
    recovered.push_back(
        fmt::format("{}; ferry went back and copied again (--on-target-loss "
                    "recopy)",
                    report.failure->message.substr(0, report.failure->message.find(". "))));
    control_.clear_failure();
    shards_.clear();
  }
  report.warnings.insert(report.warnings.begin(), recovered.begin(), recovered.end());
  report.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

std::optional<checkpoint> copy_job::run_stages(copy_report& report, const checkpoint* restart) {
  // Plan: the state file, both sides, the shards, the output files.
  std::optional<checkpoint> loaded;
  if (restart == nullptr) {
    auto previous = previous_state(config_);
    if (!previous) {
      report.failure = previous.error();
      return std::nullopt;
    }
    loaded = std::move(*previous);
  } else {
    loaded = *restart;
  }
  const checkpoint* previous = loaded ? &*loaded : nullptr;
  const bool resuming = previous != nullptr;
  report.resumed = resuming;
  // Keys the earlier run wrote are ours: with no policy given, a resumed job overwrites them.
  if (resuming && config_.existing == existing_policy::unset) {
    config_.existing = existing_policy::replace;
  }
  auto planned = run_blocking(plan_copy(config_, previous));
  if (!planned) {
    report.failure = planned.error();
    return std::nullopt;
  }
  auto failures = failed_keys::open(config_.failed_keys_path, resuming);
  if (!failures) {
    report.failure = fail_with(job_error::output_file, failures.error());
    return std::nullopt;
  }
  auto diffs = diff_file::open(config_.verify.enabled ? config_.verify.diff_path : std::string{});
  if (!diffs) {
    report.failure = fail_with(job_error::output_file, diffs.error());
    return std::nullopt;
  }
  // A key that cannot be recorded stops the job: never "N keys are listed" over a short file.
  const auto stop = [this](const std::string& why) {
    control_.fail(fail_with(job_error::output_file,
                            fmt::format("{}; ferry stops rather than leave keys unrecorded: free "
                                        "space (or choose another path) and run the same command "
                                        "with --resume",
                                        why)));
  };
  (*failures)->on_error(stop);
  (*diffs)->on_error(stop);
  // Passes, then the report.
  detail::copy_run run(config_, control_, std::move(*planned), **failures, **diffs, previous,
                       shards_, inflight_, saved_at_);
  run.run(report);
  return run.rewound();
}

}  // namespace ferry::engine
