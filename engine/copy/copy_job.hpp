#pragma once
// A whole `ferry copy`: checks both sides, runs every shard's pipeline on worker threads, and
// reports what happened.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/shard_book.hpp"
#include "engine/copy/source_commands.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/verify/verifier.hpp"
#include "protocol/wire/failure.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

/// How a job ended.
enum class job_status {
  complete,     ///< every key copied or accounted for (vanished, skipped)
  keys_failed,  ///< the job ran to the end but some keys could not be copied
  differences,  ///< every key was copied, but the inline verifier found some that differ
  left_behind,  ///< every key of the database was copied, but other databases hold keys
  interrupted,  ///< stopped by drain() (SIGINT/SIGTERM) after finishing what was in flight
  fatal,        ///< could not start, or stopped by a fatal error (see `failure`)
};

/// What one shard did.
struct shard_report {
  /// The source master, "host:port".
  std::string source;
  /// Its counters.
  counts totals;
  /// The SCAN cursor up to which every key is settled.
  std::uint64_t cursor = 0;
  /// True when its SCAN finished and every key is settled.
  bool complete = false;
  /// The cursor this run started from (non-zero when resumed from a state file).
  std::uint64_t start_cursor = 0;
  /// True when this run continued the shard from a state file.
  bool resumed = false;
  /// True for a rescan of slots the source cluster moved during the copy.
  bool rescan = false;
  /// The slots it copied ("0-5460"); empty for a standalone source.
  std::string slots;
  /// What the inline verifier found in this shard during this run (copy --verify).
  verify_counts verify;
};

/// The part of a split migration a job copied (--shard-index/--shard-count).
struct part_report {
  /// Which part.
  slot_part part;
  /// Its slots ("0-5460").
  std::string slots;
  /// The source masters it read, "host:port".
  std::vector<std::string> masters;
  /// True when it took those masters whole.
  bool whole_masters = true;
};

/// What the job did.
struct copy_report {
  /// How it ended.
  job_status status = job_status::fatal;
  /// Sum over shards.
  counts totals;
  /// Per source master, then the rescans of moved slots.
  std::vector<shard_report> shards;
  /// The fatal failure, when status is `fatal`.
  std::optional<protocol::failure> failure;
  /// Wall-clock seconds from start to end.
  double duration_s = 0;
  /// Highest number of payload bytes held in memory at once (all threads).
  std::size_t peak_inflight_bytes = 0;
  /// Worker threads used.
  unsigned threads = 0;
  /// The commands this run sent the source to read keys, by kind (the cost to the source).
  source_command_counts source_commands;
  /// The source and target as printable (redacted) URLs.
  std::string source, target;
  /// True when the job continued a state file (--resume).
  bool resumed = false;
  /// What this run itself did (totals minus what earlier runs had settled).
  counts this_run;
  /// Things a person must know although the job went on (e.g. a target that lost data).
  std::vector<std::string> warnings;
  /// The source's other databases that hold keys, which this job did not copy.
  std::vector<protocol::keyspace_entry> left_behind;
  /// True when the inline verifier ran (copy --verify).
  bool verified = false;
  /// The fraction of copied keys it compared.
  double verify_sample = 1;
  /// What it found during this run, summed over shards (keys an earlier run copied are not
  /// compared again; compare `verify.checked` with `this_run.copied`).
  verify_counts verify;
  /// The part of a split migration, when the job is one.
  std::optional<part_report> part;
  /// The source's product, version and payload RDB version ("Redis 7.4.1 (RDB 12)").
  std::string source_version;
  /// The target's.
  std::string target_version;
  /// Function libraries the source holds.
  std::size_t function_libraries = 0;
  /// Target masters that received them in this run.
  std::size_t function_masters = 0;
};

/// See the file comment.
class copy_job {
 public:
  /// A job that will run `config`.
  explicit copy_job(copy_config config);
  ~copy_job();

  /// Runs the job to its end on the calling thread plus worker threads: plan (the state file,
  /// both sides, the shards), passes (the first over the source's masters, then rescans of
  /// moved slots), report.
  copy_report run();

  /// Counters so far, summed over shards. Safe from any thread, at any time.
  counts progress() const;
  /// Every shard so far (rescans included) with its counters, latencies and link counts, for
  /// the metrics endpoint. Safe from any thread, at any time.
  std::vector<shard_snapshot> shards() const { return shards_.snapshot(); }
  /// What the inline verifier found so far, summed over shards (copy --verify).
  verify_counts verified() const { return shards_.verified_total(); }
  /// DUMP payload bytes held in memory now, all threads.
  std::size_t inflight_bytes() const noexcept { return inflight_.load(std::memory_order_relaxed); }
  /// When the state file was last written, in unix seconds; 0 before the first write.
  double checkpoint_time() const noexcept { return saved_at_.load(std::memory_order_relaxed); }
  /// The fatal failure that stops the job, once there is one. Safe from any thread.
  std::optional<protocol::failure> failure() const { return control_.failure(); }
  /// What the job was asked to do.
  const copy_config& config() const noexcept { return config_; }
  /// Asks the job to stop scanning and finish what is in flight. Safe from any thread.
  void drain() noexcept { control_.drain(); }

 private:
  /// One attempt: from the state file (or `restart`, a checkpoint to go back to); returns the
  /// checkpoint to go back to when the target lost data.
  std::optional<checkpoint> run_stages(copy_report& report, const checkpoint* restart);

  copy_config config_;
  job_control control_;
  shard_book shards_;
  std::atomic<std::size_t> inflight_{0};
  std::atomic<double> saved_at_{0};
};

}  // namespace ferry::engine
