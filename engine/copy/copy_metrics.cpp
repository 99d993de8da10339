#include "engine/copy/copy_metrics.hpp"

#include <map>
#include <string>

#include "engine/verify/verify_metrics.hpp"

namespace ferry::engine {
namespace {

/// One node's shards summed: the first pass's and its rescans'.
struct node_totals {
  counts totals;
  bool complete = true;
  metrics::histogram_snapshot reads, writes;
  link_counts source, target;
};

void add_into(metrics::histogram_snapshot& sum, const metrics::histogram_snapshot& one) {
  if (sum.cumulative.size() < one.cumulative.size()) sum.cumulative.resize(one.cumulative.size());
  for (std::size_t i = 0; i < one.cumulative.size(); ++i) sum.cumulative[i] += one.cumulative[i];
  sum.count += one.count;
  sum.sum += one.sum;
}

double number(std::uint64_t n) { return static_cast<double>(n); }

}  // namespace

void add_copy_samples(metrics::scrape& s, const metrics::job_metrics& m,
                      const std::vector<shard_snapshot>& shards, const copy_gauges& job) {
  std::map<std::string, node_totals> nodes;
  for (const auto& shard : shards) {
    node_totals& node = nodes[shard.source];
    node.totals += shard.totals;
    node.complete = node.complete && shard.complete;
    add_into(node.reads, shard.reads);
    add_into(node.writes, shard.writes);
    node.source += shard.source_links;
    node.target += shard.target_links;
  }
  for (auto& [source, node] : nodes) {
    const counts& c = node.totals;
    s.add(m.keys_scanned, {source}, number(c.scanned));
    s.add(m.keys_copied, {source}, number(c.copied));
    s.add(m.keys_vanished, {source}, number(c.vanished));
    s.add(m.keys_skipped, {source}, number(c.skipped));
    s.add(m.keys_failed, {source}, number(c.failed));
    s.add(m.keys_rescanned, {source}, number(c.rescanned));
    s.add(m.keys_estimated, {source}, number(c.estimated));
    s.add(m.payload_bytes, {source}, number(c.bytes));
    s.add(m.shard_complete, {source}, node.complete ? 1 : 0);
    // Only causes that happened: a series per shard and errc would be mostly zeros.
    for (std::size_t i = 0; i < link_counts::causes; ++i) {
      const std::uint64_t n = node.source.retries[i] + node.target.retries[i];
      if (n != 0) s.add(m.retries, {source, std::string(link_counts::cause_name(i))}, number(n));
    }
    s.add(m.reconnects, {source, "source"}, number(node.source.reconnects));
    s.add(m.reconnects, {source, "target"}, number(node.target.reconnects));
    s.add(m.read_batch_duration, {source}, std::move(node.reads));
    s.add(m.write_batch_duration, {source}, std::move(node.writes));
  }
  s.add(m.inflight_bytes, {}, number(job.inflight_bytes));
  s.add(m.inflight_budget, {}, number(job.inflight_budget));
  if (job.checkpoint_time > 0) s.add(m.checkpoint_time, {}, job.checkpoint_time);
  if (job.verifying) add_verify_samples(s, m, job.verified, verify_scope::inline_verifier);
}

metrics::collector_handle expose_copy(metrics::registry& r, const metrics::job_metrics& m,
                                      const copy_job& job) {
  return r.add_collector([&m, &job](metrics::scrape& s) {
    copy_gauges gauges;
    gauges.inflight_bytes = job.inflight_bytes();
    gauges.inflight_budget = job.config().tune.max_inflight_bytes;
    gauges.checkpoint_time = job.checkpoint_time();
    gauges.verifying = job.config().verify.enabled;
    if (gauges.verifying) gauges.verified = job.verified();
    add_copy_samples(s, m, job.shards(), gauges);
  });
}

}  // namespace ferry::engine
