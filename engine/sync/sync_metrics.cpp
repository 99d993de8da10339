#include "engine/sync/sync_metrics.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <string>

#include "engine/copy/copy_metrics.hpp"

namespace ferry::engine {
namespace {

double number(std::uint64_t n) { return static_cast<double>(n); }

}  // namespace

metrics::histogram_snapshot lag_histogram_of(const lag_snapshot& lag) {
  constexpr auto& bounds = metrics::lag_seconds_buckets;
  constexpr std::size_t finite = std::size(bounds);
  metrics::histogram_snapshot out;
  std::vector<std::uint64_t> per_bucket(finite, 0);
  const double max_us = static_cast<double>(lag.max_us);
  for (std::size_t i = 0; i < lag_buckets; ++i) {
    const std::uint64_t n = lag.counts[i];
    if (n == 0) continue;
    // The last lag bucket has no bound of its own; every lag is at most the maximum.
    const double bound_us =
        i + 1 == lag_buckets ? max_us : std::min(lag_bucket_bound_us(i), max_us);
    const double bound_s = bound_us / 1e6;
    const auto at = std::lower_bound(std::begin(bounds), std::end(bounds), bound_s);
    if (at != std::end(bounds)) per_bucket[static_cast<std::size_t>(at - std::begin(bounds))] += n;
    out.count += n;
    out.sum += number(n) * bound_s;
  }
  out.cumulative.resize(finite);
  std::uint64_t running = 0;
  for (std::size_t j = 0; j < finite; ++j) {
    running += per_bucket[j];
    out.cumulative[j] = running;
  }
  return out;
}

void add_sync_samples(metrics::scrape& s, const metrics::job_metrics& m,
                      const std::vector<sync_shard_report>& shards, bool converged) {
  constexpr int phases = static_cast<int>(metrics::sync_phase::count_);
  for (const auto& shard : shards) {
    const std::string& source = shard.source;
    s.add(m.sync_events, {source}, number(shard.events));
    s.add(m.sync_applied, {source}, number(shard.recopied + shard.erased));
    s.add(m.sync_dirty_keys, {source}, number(shard.dirty_keys));
    s.add(m.sync_dirty_bytes, {source}, number(shard.dirty_bytes));
    s.add(m.sync_lag, {source}, lag_histogram_of(shard.lag));
    // shard_phase and metrics::sync_phase list the same phases in the same order.
    const int now = static_cast<int>(shard.phase);
    for (int p = 0; p < phases; ++p) {
      s.add(m.sync_phase_flags,
            {source, std::string(metrics::phase_name(static_cast<metrics::sync_phase>(p)))},
            p == now ? 1 : 0);
    }
    // Only causes that happened: most shards never see most of them.
    std::map<std::string, std::uint64_t> gaps;
    for (const auto& gap : shard.gaps) ++gaps[gap.cause];
    for (const auto& [cause, n] : gaps) s.add(m.sync_gaps, {source, cause}, number(n));
  }
  s.add(m.sync_converged, {}, converged ? 1 : 0);
}

metrics::collector_handle expose_sync(metrics::registry& r, const metrics::job_metrics& m,
                                      const sync_job& job) {
  return r.add_collector([&m, &job](metrics::scrape& s) {
    const copy_job& snapshot = job.snapshot();
    copy_gauges gauges;
    gauges.inflight_bytes = snapshot.inflight_bytes();
    gauges.inflight_budget = snapshot.config().tune.max_inflight_bytes;
    gauges.checkpoint_time = snapshot.checkpoint_time();
    add_copy_samples(s, m, snapshot.shards(), gauges);
    add_sync_samples(s, m, job.shards(), job.progress().converged);
  });
}

}  // namespace ferry::engine
