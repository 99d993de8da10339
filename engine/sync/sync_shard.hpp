#pragma once
// One shard of a `ferry sync`: everything that keeps a source master's keys in step on the
// target after (and during) its snapshot. It runs on the shard's worker thread, beside the copy
// pipeline of the same shard (copy_extension::beside), with these flows:
//
//   subscriber ──events──► dirty set ──keys──► re-copy readers ──records──► writers ──► settled
//   (home node)               ▲  ▲              (key_reader:                (write_batches,
//                             │  │               DUMP + expiry)              RESTORE REPLACE / DEL)
//   stats watch (INFO         │  └── reconcile: compare source and target (key_comparer) after
//   commandstats: FLUSHDB,    │      a gap, mark every difference dirty
//   SWAPDB, XACK ...) ────────┴───── stream sweep: compare the streams whose consumer groups
//                                    changed without an event
//
// The subscriber is on before the shard's first SCAN (wait_subscribed()), so no write falls
// between the scan and the subscription. Events of the snapshot's time only mark keys dirty:
// re-copies begin once the shard's snapshot is settled on the target, so that no snapshot write
// of a key can land after a newer re-copy of it. A re-copy reads the source after the event, so
// the last value wins; the dirty set keeps one re-copy of a key in flight at a time. A reconcile
// only reads: it marks keys dirty, and the re-copy path writes them, so a reconcile and the
// events never race on a key.
//
// The job's calling thread talks to a shard only through post() (a new home node after a
// failover, slots moving between shards, a fence for the cut-over) and reads its
// shard_sync_stats.
//
// Thread: run() and everything it starts, on the shard's worker thread; post() from any thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/copy/copy_config.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/write_stage.hpp"
#include "engine/sync/dirty_set.hpp"
#include "engine/sync/sync_stats.hpp"
#include "engine/verify/key_compare.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/net/subscriber.hpp"
#include "protocol/wire/keyspace_events.hpp"
#include "protocol/wire/slots.hpp"

namespace ferry::engine {

struct shard_context;
class slot_router;
class task_group;

/// The steady clock in milliseconds (shard_sync_stats::last_change_ms).
std::int64_t steady_ms();

/// The node a shard subscribes to and reads: a master, or its replica (--read-from replicas).
struct sync_node {
  /// How to connect to it (db applied; READONLY on a cluster).
  protocol::connection_options options;
  /// Its cluster node id (empty for a standalone server).
  std::string id;
  /// The master that takes the probe's writes: the node itself, or the master of a replica.
  protocol::endpoint master;
  /// True when it is a replica.
  bool replica = false;
};

/// What every shard of one sync shares; set up by the job before the shards run, read-only
/// afterwards.
struct sync_settings {
  /// The snapshot's (and the shared) options.
  const copy_config& copy;
  /// Bound of each shard's dirty set.
  std::size_t max_dirty_bytes = std::size_t{16} << 20;
  /// A key changed during its own re-copy waits this long after that re-copy began.
  std::chrono::milliseconds hold{50};
  /// Keepalive PINGs on subscribed connections.
  std::chrono::milliseconds ping_interval{1'000};
  /// How often INFO commandstats is read on each subscribed node.
  std::chrono::milliseconds stats_interval{250};
  /// The channel subscribed to (keyspace unless only keyevent notifications are on).
  protocol::event_channel channel = protocol::event_channel::keyspace;
  /// How a reconcile compares keys.
  compare_options compare;
  /// The source seed's settings and slot map, for the reconcile's routed reads.
  protocol::connection_options source_seed;
  /// See source_seed.
  protocol::topology source_map;
  /// True for a cluster source, or a job limited by --slots: events are filtered by slot.
  bool filter_slots = false;
  /// The job's id, in the probe keys' names.
  std::string job_id;
};

/// See the file comment.
class sync_shard {
 public:
  /// Shard `index`, subscribing to and reading `home`, keeping `slots` in step. With `probe`, it
  /// proves with probe keys that events arrive before it lets the scan begin (CONFIG refused).
  sync_shard(const sync_settings& settings, shard_sync_stats& stats, std::size_t index,
             sync_node home, protocol::slot_set slots, bool probe);
  ~sync_shard();
  sync_shard(const sync_shard&) = delete;
  sync_shard& operator=(const sync_shard&) = delete;

  /// Before run(): the shard starts with a gap (a resumed job), reconciled after its snapshot.
  void start_with_gap(gap_record gap);

  /// Worker thread: returns once the subscriber holds its subscription (true), or the job is
  /// stopping (false). The scanner awaits it.
  boost::asio::awaitable<bool> wait_subscribed(const job_control& control);
  /// Worker thread: runs every flow of the shard until the job stops.
  boost::asio::awaitable<void> run(shard_context& shard);

  /// Any thread: runs `command` on the shard's thread (soon; in order).
  void post(std::function<void(sync_shard&)> command);

  // Commands, run through post() on the shard's thread.
  /// A new home node (a failover): subscribe there, then reconcile the shard's slots.
  void switch_home(sync_node home, gap_record gap);
  /// `slots` now belong to another shard: stop taking their events, drop their waiting keys,
  /// and set stats.released to `token` once no re-copy of them is in flight.
  void release(const protocol::slot_set& slots, std::uint64_t token);
  /// `slots` now belong to this shard: take their events from now on.
  void acquire(const protocol::slot_set& slots);
  /// Reconcile `slots` (a gap the job detected).
  void reconcile(const protocol::slot_set& slots, gap_record gap);
  /// Sends a fence on the subscriber; stats.fenced becomes `token` when its pong arrives.
  void fence(std::uint64_t token);

 private:
  struct pending_reconcile {
    protocol::slot_set slots;
    std::vector<std::size_t> gaps;
  };
  struct batch_in_flight {
    std::vector<std::string> keys;
    std::uint64_t erased = 0;
  };

  // sync_shard.cpp: events, dirty set, re-copy.
  void on_push(const protocol::push& p);
  bool wanted(std::string_view key) const;
  void publish();
  void wake(boost::asio::steady_timer& timer) { timer.cancel(); }
  boost::asio::awaitable<void> wait_on(boost::asio::steady_timer& timer,
                                       std::chrono::steady_clock::time_point until);
  boost::asio::awaitable<void> recopy(shard_context& shard, record_channel& out);
  boost::asio::awaitable<void> recopy_stage(shard_context& shard, record_channel& out,
                                            unsigned readers, unsigned writers,
                                            std::function<void(std::exception_ptr)> on_error);
  void settle_batch(std::uint64_t seq, const counts& tally);
  void check_releases();
  void request_reconcile(const protocol::slot_set& slots, gap_record gap);
  boost::asio::awaitable<void> watch_stop(shard_context& shard);
  // sync_watch.cpp: the subscriber, the stats watch, the probe.
  boost::asio::awaitable<void> subscribe(shard_context& shard);
  boost::asio::awaitable<void> renew(shard_context& shard);
  boost::asio::awaitable<void> watch_stats(shard_context& shard);
  boost::asio::awaitable<bool> sample_stats(shard_context& shard);
  boost::asio::awaitable<bool> probe(shard_context& shard);
  boost::asio::awaitable<void> probe_then_release(shard_context& shard);
  void release_scan();
  boost::asio::awaitable<std::string> node_facts(shard_context& shard);
  // reconcile.cpp: reconciles and stream sweeps.
  boost::asio::awaitable<void> reconcile_loop(shard_context& shard);
  boost::asio::awaitable<void> run_reconcile(shard_context& shard, const protocol::slot_set& slots,
                                             const std::vector<std::size_t>& gaps);
  boost::asio::awaitable<void> run_sweep(shard_context& shard);
  boost::asio::awaitable<bool> mark_waiting(const protocol::bytes& key);
  boost::asio::awaitable<void> scan_streams(shard_context& shard);
  void note_stream(std::string_view key);

  const sync_settings& settings_;
  shard_sync_stats& stats_;
  std::size_t index_;
  sync_node home_;
  std::uint64_t home_version_ = 0;
  protocol::slot_set slots_;
  bool probe_needed_;
  int db_ = 0;

  // Cross-thread commands (post()).
  std::mutex inbox_mutex_;
  std::vector<std::function<void(sync_shard&)>> inbox_;
  std::optional<boost::asio::any_io_executor> executor_;  // set by run(), under inbox_mutex_
  void drain_inbox();

  // The shard's thread from here on.
  dirty_set dirty_;
  bool snapshot_done_ = false;
  std::chrono::steady_clock::time_point snapshot_done_at_{};
  bool stop_ = false;
  bool overflowed_ = false;
  std::optional<pending_reconcile> pending_;
  std::vector<gap_record> initial_gaps_;
  bool reconcile_running_ = false;
  bool sweep_pending_ = false;
  bool sweep_running_ = false;
  std::unordered_set<std::string> streams_;
  std::size_t streams_bytes_ = 0;
  bool streams_overflow_ = false;
  std::map<std::uint64_t, batch_in_flight> batches_;
  std::uint64_t next_seq_ = 1;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> releases_;  // (token, last seq then)
  protocol::subscriber* current_ = nullptr;
  std::unique_ptr<protocol::subscriber> handover_;  // a renewed-token subscriber, subscribed
  bool renewing_ = false;
  bool probing_ = false;
  std::set<std::pair<std::string, std::string>> probe_seen_;        // (key, event) of probe keys
  std::optional<std::map<std::string, std::uint64_t>> last_calls_;  // INFO commandstats
  bool stats_refused_ = false;
  std::unique_ptr<protocol::connection> stats_connection_;
  std::unique_ptr<task_group> extra_;  // flows started later (probe, stream scan, renewals)
  std::unique_ptr<slot_router> source_router_;
  shard_counters recopy_counters_;
  std::unique_ptr<boost::asio::steady_timer> work_;        // re-copy readers wait here
  std::unique_ptr<boost::asio::steady_timer> room_;        // a reconcile waiting for room
  std::unique_ptr<boost::asio::steady_timer> reconciler_;  // the reconcile loop waits here
  std::unique_ptr<boost::asio::steady_timer> subscribed_;  // wait_subscribed() waits here
};

}  // namespace ferry::engine
