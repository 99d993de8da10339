#pragma once
// What a shard measures for the metrics endpoint alone (its counters, which reports and the
// state file need too, are in counters.hpp): read and write batch latencies, and its links'
// retries by cause and reconnects, per side.
//
// Thread: the shard's worker thread adds (relaxed atomics: no lock, no allocation); any thread
// reads (a scrape).

#include <string>

#include "engine/cluster/link_stats.hpp"
#include "engine/copy/counters.hpp"
#include "engine/metrics/job_metrics.hpp"
#include "engine/metrics/values.hpp"

namespace ferry::engine {

/// See the file comment.
struct shard_meters {
  /// Seconds per reader batch: pipelined DUMP and expiry, redirects and retries included.
  metrics::histogram reads{metrics::batch_seconds_buckets};
  /// Seconds per writer batch: pipelined RESTORE until every key is settled.
  metrics::histogram writes{metrics::batch_seconds_buckets};
  /// The readers' links and redirect rounds on the source.
  link_stats source;
  /// The writers' links and redirect rounds on the target.
  link_stats target;
};

/// One shard of a copy job as the metrics endpoint reads it, at one moment.
struct shard_snapshot {
  /// The source node it scans, "host:port" (the report's `shards[].source`).
  std::string source;
  /// A rescan of slots the source cluster moved (several entries may share `source`).
  bool rescan = false;
  /// Its counters (including what earlier runs settled, as in the report).
  counts totals;
  /// True when its SCAN finished and every key is settled.
  bool complete = false;
  /// Read batch latencies.
  metrics::histogram_snapshot reads;
  /// Write batch latencies.
  metrics::histogram_snapshot writes;
  /// Source links: retries by cause, reconnects.
  link_counts source_links;
  /// Target links: retries by cause, reconnects.
  link_counts target_links;
};

}  // namespace ferry::engine
