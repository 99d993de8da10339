#pragma once
// One run of a copy job: what copy_job::run() prepared (the plan, the output files), the passes
// it runs (the first over the source's masters, then rescans of slots the source cluster moved
// meanwhile), the target's marks and checkpoints (copy_run_state.cpp), and the report. The job's
// calling thread runs this; the passes run on worker threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/copy_extension.hpp"
#include "engine/copy/copy_job.hpp"
#include "engine/copy/copy_plan.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/shard_book.hpp"
#include "engine/copy/shard_pass.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/topology/slot_watch.hpp"
#include "engine/topology/source_watch.hpp"
#include "engine/topology/target_guard.hpp"
#include "engine/verify/diff_file.hpp"

namespace ferry::engine::detail {

/// See the file comment.
class copy_run {
 public:
  /// A run of the plan `plan`, resuming `previous` (null for a fresh job); the counters go into
  /// `book`, the payload bytes held now into `inflight` and the time of the last state file
  /// written (unix seconds) into `saved_at` (both read by the metrics endpoint).
  copy_run(copy_config& config, job_control& control, copy_plan plan, failed_keys& failures,
           diff_file& diffs, const checkpoint* previous, shard_book& book,
           std::atomic<std::size_t>& inflight, std::atomic<double>& saved_at);

  /// Runs every pass and fills `report` (everything but its timing).
  void run(copy_report& report);

  /// The checkpoint to start from again after a target lost data (set when the job stopped
  /// for that reason).
  const std::optional<checkpoint>& rewound() const noexcept { return rewound_; }

 private:
  /// The time now in unix seconds (when a state file was written, for the metrics).
  static double unix_seconds();

  // Passes (copy_run.cpp).
  std::vector<shard_run> first_pass();
  std::vector<shard_run> rescan_pass(const source_view& view, copy_report& report);
  void prepare_target(copy_report& report);
  pass_services services_for();
  protocol::connection_options source_options(const protocol::endpoint& node) const;
  void observe(const source_view& view, copy_report& report);
  void tick(const std::vector<shard_run>& runs, copy_report& report);
  std::optional<source_view> settle_source(copy_report& report);
  void check_sources();
  void finish(copy_report& report);

  // The target's marks and the state file (copy_run_state.cpp).
  checkpoint state_of(const char* status) const;
  maybe<void> start_guard();
  void save(const char* status);
  void write_state(const checkpoint& state);
  void lost(const target_loss& loss, bool during_run);
  std::string loss_message(const target_loss& loss, bool during_run) const;

  copy_config& config_;
  copy_extension* extension_ = config_.extension;  // ferry sync's hooks; null for a copy
  job_control& control_;
  copy_plan plan_;
  failed_keys& failures_;
  diff_file& diffs_;
  bool resuming_;
  const checkpoint* previous_;  // the state file resumed, or null
  shard_book& book_;
  std::string job_id_;
  std::uint64_t generation_;  // the generation the target's marks hold
  target_guard guard_;
  std::vector<checkpoint> history_;  // the start, then the newest checkpoints saved
  std::optional<checkpoint> rewound_;
  bool started_ = false;  // the target was checked and marked: keys may have moved
  bool cluster_;
  slot_watch slots_;     // slots the source cluster moves while they are scanned
  slot_set rescanning_;  // the moved slots of the rescan pass under way
  source_watch source_;
  rate_limiter limiter_;
  source_commands commands_;
  write_mode mode_;  // RESTORE, or struct mode for every key once the target refuses RESTORE
  warning_list verify_warnings_;
  warning_list warnings_;  // from the shards
  bool told_blind_ = false;
  std::chrono::steady_clock::time_point last_save_;
  std::chrono::steady_clock::time_point last_look_{};  // of the source cluster, in tick()
  std::vector<bool> released_;
  std::vector<shard_run> rescans_;      // every rescan of the job, for the report
  std::atomic<std::size_t>& inflight_;  // payload bytes held, all threads (metrics)
  std::atomic<double>& saved_at_;       // when the state file was last written (metrics)
};

}  // namespace ferry::engine::detail
