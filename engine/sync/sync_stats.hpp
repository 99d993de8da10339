#pragma once
// What each shard of a `ferry sync` has done, for progress lines, reports and the state file:
// written by the shard's worker thread, read from any thread. Counters are relaxed atomics; the
// gaps (rare) and the shard's current node sit behind a mutex.
//
// Thread: the shard's worker thread writes; any thread reads.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/sync/lag_histogram.hpp"

namespace ferry::engine {

/// Where a shard of a sync is (the names of ferry_sync_phase's `phase` label).
enum class shard_phase : int {
  snapshot,     ///< copying its keys while its events are already subscribed
  streaming,    ///< re-copying keys named by events
  reconciling,  ///< comparing source and target after a gap, marking differences dirty
};

/// The label of `p` ("snapshot", "streaming", "reconciling").
const char* phase_name(shard_phase p) noexcept;

/// One gap in a shard's event stream and the reconcile that closed it.
struct gap_record {
  /// Why ("subscriber_lost", "output_buffer", "restart", "flushdb", "flushall", "swapdb",
  /// "stats_reset", "dirty_full", "resume", "failover", "reshard"): ferry_sync_gaps_total's
  /// `cause` label.
  std::string cause;
  /// What happened, in a sentence (the node, the error).
  std::string detail;
  /// When it was detected (Unix ms).
  std::int64_t at_ms = 0;
  /// The slots it concerns ("0-5460"; empty for all of the shard's).
  std::string slots;
  /// When its reconcile began and ended (Unix ms; 0 while pending or running).
  std::int64_t reconcile_started_ms = 0;
  /// See reconcile_started_ms.
  std::int64_t reconcile_finished_ms = 0;
  /// Keys the reconcile compared (source keys, then target keys looked up on the source).
  std::uint64_t compared = 0;
  /// Keys it found different (or only on the target) and marked dirty for a re-copy.
  std::uint64_t marked = 0;
};

/// A gap of `cause` (see gap_record::cause) detected now, described by `detail`.
gap_record gap_now(std::string cause, std::string detail);

/// See the file comment.
struct shard_sync_stats {
  std::atomic<std::uint64_t> events{0};    ///< keyspace events received for the shard
  std::atomic<std::uint64_t> ignored{0};   ///< events of other slots, filters, ferry's keys
  std::atomic<std::uint64_t> dropped{0};   ///< events refused by a full dirty set
  std::atomic<std::uint64_t> recopied{0};  ///< keys re-copied (RESTORE ... REPLACE)
  std::atomic<std::uint64_t> erased{0};    ///< keys deleted on the target (gone at the source)
  std::atomic<std::uint64_t> failed{0};    ///< keys the re-copy could not write
  std::atomic<std::uint64_t> reconcile_marked{0};  ///< keys reconciles marked dirty
  std::atomic<std::uint64_t> stream_sweeps{0};     ///< consumer-group sweeps (XACK, XCLAIM, ...)
  std::atomic<std::uint64_t> dirty_keys{0};        ///< keys dirty or in flight now
  std::atomic<std::uint64_t> dirty_bytes{0};       ///< bytes the dirty set holds now
  std::atomic<int> phase{static_cast<int>(shard_phase::snapshot)};  ///< a shard_phase
  std::atomic<bool> snapshot_done{false};  ///< the shard's snapshot is on the target
  std::atomic<bool> subscribed{false};     ///< its subscriber holds its subscription
  std::atomic<bool> reconciling{false};    ///< a reconcile is pending or running
  /// A stream sweep is pending or running: consumer groups may differ until it has run.
  std::atomic<bool> sweeping{false};
  std::atomic<std::uint64_t> fenced{0};    ///< the last fence whose pong arrived
  std::atomic<std::uint64_t> released{0};  ///< the last slot release it finished
  std::atomic<std::uint64_t> samples{0};   ///< INFO commandstats looks finished (or skipped)
  /// When a key last became dirty (steady clock, ms): --until-converged waits for a quiet source.
  std::atomic<std::int64_t> last_change_ms{0};
  lag_histogram lag;  ///< event to applied

  /// Records a gap; returns its index for reconcile updates.
  std::size_t add_gap(gap_record gap);
  /// Updates gap `index` with `update(gap)`.
  template <class F>
  void update_gap(std::size_t index, F update) {
    std::lock_guard lock(mutex_);
    if (index < gaps_.size()) update(gaps_[index]);
  }
  /// Every gap so far.
  std::vector<gap_record> gaps() const;
  /// The node the shard subscribes to and reads ("host:port").
  void set_node(std::string address);
  /// See set_node().
  std::string node() const;

 private:
  mutable std::mutex mutex_;
  std::vector<gap_record> gaps_;
  std::string node_;
};

}  // namespace ferry::engine
