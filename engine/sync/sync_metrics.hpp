#pragma once
// A sync job's counters as the families of engine/metrics/job_metrics.hpp, read at every scrape
// from what the job keeps anyway: the snapshot copy's families through copy_metrics.hpp, and
// the sync families per shard from the shards' stats (sync_stats.hpp), so the streaming path
// gains nothing.
//
// Series are labelled with the shard's source master, "host:port", as the report's
// `shards[].source` (sync plans one shard per master, so each label appears once).

#include <vector>

#include "engine/metrics/job_metrics.hpp"
#include "engine/sync/sync_job.hpp"

namespace ferry::engine {

/// `lag` in the buckets of ferry_sync_lag_seconds. A lag bucket counts in the first Prometheus
/// bucket at or above its upper bound (capped at the maximum seen), so a bucket never counts a
/// lag above its bound; the sum adds each lag as that bound, at most 10 % high.
metrics::histogram_snapshot lag_histogram_of(const lag_snapshot& lag);

/// Adds one scrape's samples of the sync families for `shards`, and ferry_sync_converged from
/// `converged`. Pure (no I/O).
void add_sync_samples(metrics::scrape& s, const metrics::job_metrics& m,
                      const std::vector<sync_shard_report>& shards, bool converged);

/// Reads `job` (its snapshot's families and the sync families) into `m`'s families at every
/// scrape of `r` until the handle is destroyed, which must happen before `job` is.
[[nodiscard]] metrics::collector_handle expose_sync(metrics::registry& r,
                                                    const metrics::job_metrics& m,
                                                    const sync_job& job);

}  // namespace ferry::engine
