#pragma once
// Every metric family ferry exposes, written once: names, types, labels and help texts.
//
// Names follow Prometheus's conventions: the `ferry_` prefix, base units (seconds, bytes),
// `_total` for counters, `_timestamp_seconds` for unix times. Labels:
// - `shard`: the source master a shard reads, "host:port" as in the report's `shards[].source`;
// - `side`: "source" or "target";
// - `cause`: why a batch was sent again, errc_name() of the error ("moved", "ask", "tryagain",
//   "loading", "busy", "timeout", "connection_closed", ...);
// - `kind`: a verify verdict ("equal", "missing", "value", "type", "expiry", "changed",
//   "vanished", "extra");
// - `phase`: job_phase or sync_phase names.
//
// How a job feeds them (phase 2 wires this into copy, verify, sync and import):
//
//   metrics::registry registry;
//   metrics::job_metrics m(registry, "copy", FERRY_VERSION);
//   // counters the job already keeps are read at scrape time, not counted twice (copy_job
//   // offers progress() summed over shards today; a per-shard reader is phase 2's to add):
//   auto reading = registry.add_collector([&job, &m](metrics::scrape& s) {
//     for (const auto& [shard, c] : job.shard_counts()) {
//       s.add(m.keys_copied, {shard}, c.copied);
//       ...
//     }
//   });
//   // values only metrics need are owned by the registry, taken once per shard at setup:
//   metrics::histogram& reads = m.read_batch_duration.with({shard});
//   reads.observe(seconds);                       // per batch, on the shard's thread
//   m.set_phase(metrics::job_phase::running);
//   auto server = metrics::metrics_server::start(where, registry, health);

#include <atomic>
#include <span>
#include <string>
#include <string_view>

#include "engine/metrics/registry.hpp"

namespace ferry::engine::metrics {

/// Where a job is in its life (ferry_job_phase{phase}).
enum class job_phase {
  starting,     ///< checking the sides, reading the state file
  running,      ///< copying, verifying or syncing
  draining,     ///< SIGINT/SIGTERM: finishing what is in flight, then a checkpoint
  complete,     ///< ended with every key accounted for (or the sides equal)
  incomplete,   ///< ended with failed keys or differences (exit code 1)
  interrupted,  ///< ended after a drain (exit code 3)
  failed,       ///< stopped by a fatal error (exit code 2)
  count_,       ///< (number of phases)
};

/// The label value of `p` ("running").
std::string_view phase_name(job_phase p) noexcept;

/// Where a shard of `ferry sync` is (ferry_sync_phase{shard,phase}).
enum class sync_phase {
  snapshot,     ///< copying the shard's keys while its events are already subscribed
  streaming,    ///< re-copying keys named by events
  reconciling,  ///< comparing source and target after a gap, repairing differences
  count_,       ///< (number of phases)
};

/// The label value of `p` ("streaming").
std::string_view phase_name(sync_phase p) noexcept;

/// Bucket bounds of batch latencies (a pipelined DUMP or RESTORE round trip), in seconds.
inline constexpr double batch_seconds_buckets[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
/// Bucket bounds of sync lag (event received to applied on the target), in seconds; fine
/// around 100 ms, the lag p99 that issue 17's benchmark holds to.
inline constexpr double lag_seconds_buckets[] = {
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

/// The declarations; job_metrics registers all of them.
namespace families {
using enum metric_type;

// --- the job ---
/// Always 1; which command runs, which version.
inline constexpr family_spec job_info{"ferry_job_info", gauge, "command,version",
                                      "Always 1; the labels name the ferry command running and "
                                      "ferry's version."};
/// 1 for the phase the job is in, 0 for the others.
inline constexpr family_spec job_phase{"ferry_job_phase", gauge, "phase",
                                       "1 for the phase the job is in (starting, running, "
                                       "draining, complete, incomplete, interrupted, failed), 0 "
                                       "for the others."};
/// When the job started.
inline constexpr family_spec job_start{"ferry_job_start_time_seconds", gauge, "",
                                       "When the job started, in unix seconds."};
/// When the state file was last written.
inline constexpr family_spec checkpoint_time{"ferry_checkpoint_timestamp_seconds", gauge, "",
                                             "When the state file was last written, in unix "
                                             "seconds."};

// --- copy, per shard ---
/// SCAN results.
inline constexpr family_spec keys_scanned{"ferry_keys_scanned_total", counter, "shard",
                                          "Keys SCAN returned on the source (after the slot "
                                          "filter)."};
/// Acknowledged RESTOREs.
inline constexpr family_spec keys_copied{"ferry_keys_copied_total", counter, "shard",
                                         "Keys the target acknowledged."};
/// Gone before DUMP.
inline constexpr family_spec keys_vanished{"ferry_keys_vanished_total", counter, "shard",
                                           "Keys deleted or expired on the source between SCAN "
                                           "and DUMP: nothing to copy."};
/// --on-existing skip.
inline constexpr family_spec keys_skipped{"ferry_keys_skipped_total", counter, "shard",
                                          "Keys left alone because the target held them "
                                          "(--on-existing skip)."};
/// Recorded in --failed-keys.
inline constexpr family_spec keys_failed{"ferry_keys_failed_total", counter, "shard",
                                         "Keys that could not be copied (see the failed-keys "
                                         "file)."};
/// Met again and found already copied.
inline constexpr family_spec keys_rescanned{"ferry_keys_rescanned_total", counter, "shard",
                                            "Keys met again (a rescan of moved slots, or SCAN "
                                            "returning a key twice) and found already copied."};
/// DBSIZE at the start.
inline constexpr family_spec keys_estimated{"ferry_keys_estimated", gauge, "shard",
                                            "Keys the source held when the job started (DBSIZE): "
                                            "the whole of progress."};
/// DUMP payload bytes written.
inline constexpr family_spec payload_bytes{"ferry_payload_bytes_total", counter, "shard",
                                           "DUMP payload bytes written to the target."};
/// 1 once a shard is done.
inline constexpr family_spec shard_complete{"ferry_shard_complete", gauge, "shard",
                                            "1 once the shard's SCAN finished and every key is "
                                            "settled, else 0."};
/// Batches sent again.
inline constexpr family_spec retries{"ferry_retries_total", counter, "shard,cause",
                                     "Batches sent again after a connection broke or a node "
                                     "redirected them, by cause."};
/// Connections opened again.
inline constexpr family_spec reconnects{"ferry_reconnects_total", counter, "shard,side",
                                        "Connections opened again after one broke."};
/// Payload bytes held now.
inline constexpr family_spec inflight_bytes{"ferry_inflight_bytes", gauge, "",
                                            "DUMP payload bytes held in memory now, all threads."};
/// --max-inflight-bytes.
inline constexpr family_spec inflight_budget{"ferry_inflight_budget_bytes", gauge, "",
                                             "The most payload bytes ferry holds at once "
                                             "(--max-inflight-bytes)."};
/// DUMP pipeline round trips.
inline constexpr family_spec read_batch_duration{"ferry_read_batch_duration_seconds", histogram,
                                                 "shard",
                                                 "Time to read one batch from the source "
                                                 "(pipelined DUMP and expiry).",
                                                 batch_seconds_buckets};
/// RESTORE pipeline round trips.
inline constexpr family_spec write_batch_duration{"ferry_write_batch_duration_seconds", histogram,
                                                  "shard",
                                                  "Time to write one batch to the target "
                                                  "(pipelined RESTORE until acknowledged).",
                                                  batch_seconds_buckets};

// --- verify ---
/// Keys SCAN returned, per side.
inline constexpr family_spec verify_scanned{"ferry_verify_keys_scanned_total", counter, "side",
                                            "Keys the verifier's SCAN returned: source keys to "
                                            "compare, target keys looked up on the source."};
/// Source keys compared.
inline constexpr family_spec verify_checked{"ferry_verify_keys_checked_total", counter, "",
                                            "Source keys compared with the target."};
/// Verdicts by kind.
inline constexpr family_spec verify_keys{"ferry_verify_keys_total", counter, "kind",
                                         "Keys by verdict: equal, missing, value, type, expiry, "
                                         "changed (kept changing), vanished, extra (target "
                                         "only)."};
/// DBSIZE at the start.
inline constexpr family_spec verify_estimated{"ferry_verify_keys_estimated", gauge, "",
                                              "Source keys when the verify started (DBSIZE)."};
/// Element-by-element comparisons.
inline constexpr family_spec verify_deep{"ferry_verify_deep_compares_total", counter, "",
                                         "Keys compared element by element because their "
                                         "digests differed."};
/// Compared again.
inline constexpr family_spec verify_rechecks{"ferry_verify_rechecks_total", counter, "",
                                             "Keys compared again because a side changed "
                                             "meanwhile."};
/// Repairs by result.
inline constexpr family_spec verify_repairs{"ferry_verify_repairs_total", counter, "result",
                                            "Differences repaired (result=repaired, confirmed "
                                            "equal afterwards) or not (result=failed)."};

// --- sync, per shard ---
/// Keyspace events received.
inline constexpr family_spec sync_events{"ferry_sync_events_total", counter, "shard",
                                         "Keyspace events received from the source."};
/// Keys re-copied or deleted.
inline constexpr family_spec sync_applied{"ferry_sync_events_applied_total", counter, "shard",
                                          "Keys named by events re-copied or deleted on the "
                                          "target."};
/// Dirty set size.
inline constexpr family_spec sync_dirty_keys{"ferry_sync_dirty_keys", gauge, "shard",
                                             "Keys changed on the source and not yet applied to "
                                             "the target."};
/// Dirty set bytes.
inline constexpr family_spec sync_dirty_bytes{"ferry_sync_dirty_bytes", gauge, "shard",
                                              "Bytes the dirty set holds (bounded; a full set "
                                              "starts a reconcile)."};
/// Event to applied.
inline constexpr family_spec sync_lag{"ferry_sync_lag_seconds", histogram, "shard",
                                      "Time from an event's arrival to its key applied on the "
                                      "target.",
                                      lag_seconds_buckets};
/// 1 for the shard's phase.
inline constexpr family_spec sync_phase{"ferry_sync_phase", gauge, "shard,phase",
                                        "1 for the phase the shard is in (snapshot, streaming, "
                                        "reconciling), 0 for the others."};
/// Gaps by cause.
inline constexpr family_spec sync_gaps{"ferry_sync_gaps_total", counter, "shard,cause",
                                       "Gaps in the event stream (subscriber dropped, FLUSHDB, "
                                       "resume, failover, dirty set full), each closed by a "
                                       "reconcile."};
/// Converged flag.
inline constexpr family_spec sync_converged{"ferry_sync_converged", gauge, "",
                                            "1 while the snapshot is done, no reconcile is "
                                            "pending and the dirty set is empty, else 0."};

// --- credentials ---
/// Token expiry.
inline constexpr family_spec token_expiry{"ferry_token_expiry_timestamp_seconds", gauge, "side",
                                          "When the access token in use expires, in unix "
                                          "seconds."};

/// Every family above, in the order they are exposed.
inline constexpr const family_spec* all[] = {
    &job_info,
    &job_phase,
    &job_start,
    &checkpoint_time,
    &keys_scanned,
    &keys_copied,
    &keys_vanished,
    &keys_skipped,
    &keys_failed,
    &keys_rescanned,
    &keys_estimated,
    &payload_bytes,
    &shard_complete,
    &retries,
    &reconnects,
    &inflight_bytes,
    &inflight_budget,
    &read_batch_duration,
    &write_batch_duration,
    &verify_scanned,
    &verify_checked,
    &verify_keys,
    &verify_estimated,
    &verify_deep,
    &verify_rechecks,
    &verify_repairs,
    &sync_events,
    &sync_applied,
    &sync_dirty_keys,
    &sync_dirty_bytes,
    &sync_lag,
    &sync_phase,
    &sync_gaps,
    &sync_converged,
    &token_expiry,
};
}  // namespace families

/// ferry's families registered in one registry, plus the process metrics. Public members are
/// the families (add owned values with `.with({...})`, or samples from a collector).
///
/// Thread: set_phase() and the families are safe from any thread.
class job_metrics {
 public:
  /// Registers every family in `r` (which must outlive this), sets ferry_job_info{command,
  /// version} and the start time, and starts in phase `starting`.
  job_metrics(registry& r, std::string_view command, std::string_view version);

  /// Enters phase `p` (a scrape sees exactly one phase at 1).
  void set_phase(job_phase p) noexcept { phase_.store(p, std::memory_order_relaxed); }
  /// The current phase.
  job_phase phase() const noexcept { return phase_.load(std::memory_order_relaxed); }
  /// Sets ferry_sync_phase for `shard`: 1 for `p`, 0 for the other phases.
  void set_sync_phase(const std::string& shard, sync_phase p);

  gauge_family& job_info;                  ///< families::job_info
  gauge_family& job_start;                 ///< families::job_start
  gauge_family& checkpoint_time;           ///< families::checkpoint_time
  counter_family& keys_scanned;            ///< families::keys_scanned
  counter_family& keys_copied;             ///< families::keys_copied
  counter_family& keys_vanished;           ///< families::keys_vanished
  counter_family& keys_skipped;            ///< families::keys_skipped
  counter_family& keys_failed;             ///< families::keys_failed
  counter_family& keys_rescanned;          ///< families::keys_rescanned
  gauge_family& keys_estimated;            ///< families::keys_estimated
  counter_family& payload_bytes;           ///< families::payload_bytes
  gauge_family& shard_complete;            ///< families::shard_complete
  counter_family& retries;                 ///< families::retries
  counter_family& reconnects;              ///< families::reconnects
  gauge_family& inflight_bytes;            ///< families::inflight_bytes
  gauge_family& inflight_budget;           ///< families::inflight_budget
  histogram_family& read_batch_duration;   ///< families::read_batch_duration
  histogram_family& write_batch_duration;  ///< families::write_batch_duration
  counter_family& verify_scanned;          ///< families::verify_scanned
  counter_family& verify_checked;          ///< families::verify_checked
  counter_family& verify_keys;             ///< families::verify_keys
  gauge_family& verify_estimated;          ///< families::verify_estimated
  counter_family& verify_deep;             ///< families::verify_deep
  counter_family& verify_rechecks;         ///< families::verify_rechecks
  counter_family& verify_repairs;          ///< families::verify_repairs
  counter_family& sync_events;             ///< families::sync_events
  counter_family& sync_applied;            ///< families::sync_applied
  gauge_family& sync_dirty_keys;           ///< families::sync_dirty_keys
  gauge_family& sync_dirty_bytes;          ///< families::sync_dirty_bytes
  histogram_family& sync_lag;              ///< families::sync_lag
  gauge_family& sync_phase_flags;          ///< families::sync_phase
  counter_family& sync_gaps;               ///< families::sync_gaps
  gauge_family& sync_converged;            ///< families::sync_converged
  gauge_family& token_expiry;              ///< families::token_expiry

 private:
  std::atomic<job_phase> phase_{job_phase::starting};
  collector_handle phases_;
  collector_handle process_;
};

/// The time now in unix seconds (for the *_timestamp_seconds and *_time_seconds gauges).
double unix_now() noexcept;

}  // namespace ferry::engine::metrics
