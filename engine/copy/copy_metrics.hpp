#pragma once
// A copy job's counters as the families of engine/metrics/job_metrics.hpp: read at every scrape
// from what the job keeps anyway (copy_job::shards(), in-flight bytes, the inline verifier's
// counts), so nothing is counted twice and the hot path gains nothing but the per-batch
// latency observations (reader.cpp, writer.cpp).
//
// Series per shard are labelled with the source node, "host:port", as the report's
// `shards[].source`; a rescan of moved slots on a node adds to that node's series, so each
// series appears once per scrape.

#include <cstddef>
#include <vector>

#include "engine/copy/copy_job.hpp"
#include "engine/copy/shard_meters.hpp"
#include "engine/metrics/job_metrics.hpp"
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

/// What a copy holds for the whole job at one moment.
struct copy_gauges {
  /// DUMP payload bytes held in memory now.
  std::size_t inflight_bytes = 0;
  /// --max-inflight-bytes.
  std::size_t inflight_budget = 0;
  /// When the state file was last written (unix seconds); 0 for not yet (left out).
  double checkpoint_time = 0;
  /// True with --verify: `verified` holds the inline verifier's counts.
  bool verifying = false;
  /// What the inline verifier found so far.
  verify_counts verified;
};

/// Adds one scrape's samples of the copy families for `shards` and `job`. Pure (no I/O).
void add_copy_samples(metrics::scrape& s, const metrics::job_metrics& m,
                      const std::vector<shard_snapshot>& shards, const copy_gauges& job);

/// Reads `job` into `m`'s families at every scrape of `r` until the handle is destroyed, which
/// must happen before `job` is.
[[nodiscard]] metrics::collector_handle expose_copy(metrics::registry& r,
                                                    const metrics::job_metrics& m,
                                                    const copy_job& job);

}  // namespace ferry::engine
