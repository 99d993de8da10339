#pragma once
// A whole `ferry sync`: a copy whose shards subscribe to keyspace events before they scan, and
// that then keeps the target in step with the live source, re-copying every key an event names,
// reconciling after every gap, until it is stopped, has converged (--until-converged) or has cut
// over (--cutover: the source's writes paused, the rest drained, the moment to switch printed).
//
// Built on copy_job through copy_extension (engine/copy/copy_extension.hpp): the snapshot is the
// copy's pipeline, state file and target marks, unchanged; sync_shard.hpp adds the streaming
// stage beside each shard.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/copy_job.hpp"
#include "engine/sync/lag_histogram.hpp"
#include "engine/sync/sync_stats.hpp"

namespace ferry::engine {

/// A `ferry sync` job.
struct sync_config {
  /// The snapshot and everything sync shares with copy (sides, filters, tuning, state file).
  copy_config copy;
  /// Bytes the dirty sets of all shards hold at most (split between shards).
  std::size_t max_dirty_bytes = std::size_t{64} << 20;
  /// A key changed during its own re-copy waits this long after that re-copy began (coalescing).
  std::chrono::milliseconds hold{50};
  /// End (exit 0) the first time the job has converged and stayed so for `settle`.
  bool until_converged = false;
  /// See until_converged; also how long the job must be converged before a cut-over begins.
  std::chrono::milliseconds settle{2'000};
  /// Once converged: pause the source's writes (CLIENT PAUSE WRITE), drain, and end.
  bool cutover = false;
  /// The longest the source's writes stay paused (also the CLIENT PAUSE timeout).
  std::chrono::milliseconds pause_timeout{10'000};
  /// Keys per source master compared (RANDOMKEY) once the cut-over has drained; 0 for none.
  std::size_t cutover_verify_keys = 0;
  /// Set notify-keyspace-events where it lacks classes, and put it back at the end.
  bool configure_notifications = false;
  /// Keepalive PINGs on subscribed connections.
  std::chrono::milliseconds ping_interval{1'000};
  /// How often each subscribed node's INFO commandstats is read (FLUSHDB, SWAPDB, XACK ...).
  std::chrono::milliseconds stats_interval{250};
};

/// How a sync ended.
enum class sync_status {
  converged,       ///< --until-converged: converged and stayed so for --settle
  cut_over,        ///< --cutover: the source's writes are paused and everything is on the target
  cutover_failed,  ///< --cutover could not drain within --pause-timeout (the source unpaused)
  keys_failed,     ///< converged or cut over, but some keys could not be written
  interrupted,     ///< stopped by SIGINT/SIGTERM; --resume continues
  fatal,           ///< could not start, or stopped by a fatal error (see `failure`)
};

/// What one shard of a sync did.
struct sync_shard_report {
  /// The source master of the shard, "host:port" (as in the snapshot's shards).
  std::string source;
  /// The node it subscribes to and reads now.
  std::string node;
  /// Its phase at the end.
  shard_phase phase = shard_phase::snapshot;
  /// Keyspace events received, ignored (other slots, filters, ferry's keys), refused by a full
  /// dirty set.
  std::uint64_t events = 0, ignored = 0, dropped = 0;
  /// Keys re-copied, deleted on the target, and not writable.
  std::uint64_t recopied = 0, erased = 0, failed = 0;
  /// Keys reconciles marked dirty; consumer-group sweeps.
  std::uint64_t reconcile_marked = 0, stream_sweeps = 0;
  /// Keys dirty or in flight at the end.
  std::uint64_t dirty_keys = 0;
  /// Lag (event to applied).
  lag_snapshot lag;
  /// Its gaps and their reconciles.
  std::vector<gap_record> gaps;
};

/// The cut-over, when one was asked for.
struct cutover_report {
  /// When the source's writes were paused, and until when they stay paused (Unix ms).
  std::int64_t paused_at_ms = 0, paused_until_ms = 0;
  /// When everything written before the pause was on the target: the application may switch.
  std::int64_t switch_at_ms = 0;
  /// Keys compared once drained, and those that differed.
  std::uint64_t verified = 0, differences = 0;
  /// Why it failed (empty when it did not).
  std::string failure;
};

/// What a sync did.
struct sync_report {
  /// How it ended.
  sync_status status = sync_status::fatal;
  /// The snapshot (the copy's report: totals, shards, state, warnings).
  copy_report snapshot;
  /// Per shard.
  std::vector<sync_shard_report> shards;
  /// Lag over every shard.
  lag_snapshot lag;
  /// True when the job was converged at the end; when it first converged (Unix ms, 0 never).
  bool converged = false;
  std::int64_t converged_at_ms = 0;
  /// The cut-over, when asked for.
  std::optional<cutover_report> cutover;
  /// What ferry changed on the source and put back (notify-keyspace-events).
  std::vector<std::string> notes;
  /// Things a person must know (besides the snapshot's).
  std::vector<std::string> warnings;
  /// The fatal failure (status fatal).
  std::optional<protocol::failure> failure;
};

/// What the progress line shows.
struct sync_progress {
  /// The snapshot's counters.
  counts snapshot;
  /// Shards whose snapshot is done, and all shards.
  std::size_t snapshot_done = 0, shards = 0;
  /// Shards reconciling now.
  std::size_t reconciling = 0;
  /// Events received and keys applied (re-copied or deleted), summed.
  std::uint64_t events = 0, applied = 0;
  /// Keys dirty or in flight now.
  std::uint64_t dirty = 0;
  /// Lag histogram so far (subtract an earlier one for a window).
  lag_snapshot lag;
  /// Gaps so far.
  std::size_t gaps = 0;
  /// True while converged.
  bool converged = false;
};

class sync_extension;

/// See the file comment.
class sync_job {
 public:
  /// A job that will run `config`.
  explicit sync_job(sync_config config);
  ~sync_job();
  sync_job(const sync_job&) = delete;
  sync_job& operator=(const sync_job&) = delete;

  /// Runs to the end on the calling thread plus worker threads.
  sync_report run();
  /// Counters so far. Safe from any thread.
  sync_progress progress() const;
  /// Stops the job (SIGINT/SIGTERM): in-flight batches are finished, the state file written.
  void drain() noexcept;
  /// Asks a running job to cut over at its next convergence, as --cutover does (SIGUSR1).
  void cut_over() noexcept;

 private:
  sync_config config_;
  std::unique_ptr<sync_extension> extension_;
  std::unique_ptr<copy_job> copy_;
};

}  // namespace ferry::engine
