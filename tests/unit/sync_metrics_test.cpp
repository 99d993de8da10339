// What a scrape of a sync job exposes for its shards: events, applied keys (re-copied plus
// deleted), the dirty set, one phase at 1 per shard, gaps by cause only where they happened,
// the lag histogram in Prometheus's buckets, and the converged flag.

#include "engine/sync/sync_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace ferry::engine {
namespace {

namespace metrics = engine::metrics;
using std::chrono::microseconds;

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) found.push_back(line);
  }
  return found;
}

/// The value of the one line that starts with `series` followed by a space.
double value_of(const std::string& text, const std::string& series) {
  const auto found = lines_starting(text, series + " ");
  EXPECT_EQ(found.size(), 1u) << series;
  return found.empty() ? -1 : std::stod(found[0].substr(series.size() + 1));
}

lag_snapshot lags_of(std::initializer_list<microseconds> lags) {
  lag_histogram h;
  for (const auto lag : lags) h.record(lag);
  return h.snapshot();
}

/// A streaming shard with events, gaps and lags, and one still in its snapshot.
std::vector<sync_shard_report> two_shards() {
  sync_shard_report a;
  a.source = "10.0.0.5:6379";
  a.phase = shard_phase::streaming;
  a.events = 10;
  a.recopied = 6;
  a.erased = 2;
  a.dirty_keys = 3;
  a.dirty_bytes = 300;
  a.lag = lags_of({microseconds{1'500}, microseconds{1'500}, microseconds{40'000}});
  a.gaps = {gap_now("resume", "resumed"), gap_now("flushdb", "FLUSHDB on the source"),
            gap_now("resume", "resumed again")};
  sync_shard_report b;
  b.source = "10.0.0.6:6379";
  b.phase = shard_phase::reconciling;
  return {a, b};
}

TEST(sync_metrics, each_shard_exposes_its_counters_phase_and_gaps) {
  metrics::registry r;
  metrics::job_metrics m(r, "sync", "0.1.0");
  const auto shards = two_shards();
  const auto collected =
      r.add_collector([&](metrics::scrape& s) { add_sync_samples(s, m, shards, false); });
  const std::string text = r.expose();

  EXPECT_EQ(lines_starting(text, "ferry_sync_events_total{"),
            (std::vector<std::string>{R"(ferry_sync_events_total{shard="10.0.0.5:6379"} 10)",
                                      R"(ferry_sync_events_total{shard="10.0.0.6:6379"} 0)"}));
  EXPECT_EQ(value_of(text, R"(ferry_sync_events_applied_total{shard="10.0.0.5:6379"})"), 8);
  EXPECT_EQ(value_of(text, R"(ferry_sync_dirty_keys{shard="10.0.0.5:6379"})"), 3);
  EXPECT_EQ(value_of(text, R"(ferry_sync_dirty_bytes{shard="10.0.0.5:6379"})"), 300);
  EXPECT_EQ(lines_starting(text, "ferry_sync_phase{"),
            (std::vector<std::string>{
                R"(ferry_sync_phase{shard="10.0.0.5:6379",phase="snapshot"} 0)",
                R"(ferry_sync_phase{shard="10.0.0.5:6379",phase="streaming"} 1)",
                R"(ferry_sync_phase{shard="10.0.0.5:6379",phase="reconciling"} 0)",
                R"(ferry_sync_phase{shard="10.0.0.6:6379",phase="snapshot"} 0)",
                R"(ferry_sync_phase{shard="10.0.0.6:6379",phase="streaming"} 0)",
                R"(ferry_sync_phase{shard="10.0.0.6:6379",phase="reconciling"} 1)"}));
  // Causes in name order, and none for the shard without gaps.
  EXPECT_EQ(lines_starting(text, "ferry_sync_gaps_total{"),
            (std::vector<std::string>{
                R"(ferry_sync_gaps_total{shard="10.0.0.5:6379",cause="flushdb"} 1)",
                R"(ferry_sync_gaps_total{shard="10.0.0.5:6379",cause="resume"} 2)"}));
  EXPECT_EQ(value_of(text, "ferry_sync_converged"), 0);
}

TEST(sync_metrics, the_converged_flag_is_one_while_converged) {
  metrics::registry r;
  metrics::job_metrics m(r, "sync", "0.1.0");
  const auto collected =
      r.add_collector([&](metrics::scrape& s) { add_sync_samples(s, m, {}, true); });
  EXPECT_EQ(value_of(r.expose(), "ferry_sync_converged"), 1);
}

TEST(sync_metrics, lags_land_in_the_bucket_at_or_above_their_bound) {
  metrics::registry r;
  metrics::job_metrics m(r, "sync", "0.1.0");
  const auto shards = two_shards();
  const auto collected =
      r.add_collector([&](metrics::scrape& s) { add_sync_samples(s, m, shards, false); });
  const std::string text = r.expose();
  const std::string a = R"(ferry_sync_lag_seconds_bucket{shard="10.0.0.5:6379",le=")";
  // 1.5 ms lies in a lag bucket bounded below 1.65 ms: le="0.002". 40 ms is the maximum, which
  // caps its bucket's bound: le="0.05".
  EXPECT_EQ(value_of(text, a + R"(0.001"})"), 0);
  EXPECT_EQ(value_of(text, a + R"(0.002"})"), 2);
  EXPECT_EQ(value_of(text, a + R"(0.02"})"), 2);
  EXPECT_EQ(value_of(text, a + R"(0.05"})"), 3);
  EXPECT_EQ(value_of(text, a + R"(+Inf"})"), 3);
  EXPECT_EQ(value_of(text, R"(ferry_sync_lag_seconds_count{shard="10.0.0.5:6379"})"), 3);
  const double sum = value_of(text, R"(ferry_sync_lag_seconds_sum{shard="10.0.0.5:6379"})");
  EXPECT_GE(sum, 0.043);
  EXPECT_LE(sum, 0.0434);  // each 1.5 ms counted as its bucket's bound, < 1.65 ms; 40 ms exact
  EXPECT_EQ(value_of(text, R"(ferry_sync_lag_seconds_count{shard="10.0.0.6:6379"})"), 0);
}

TEST(sync_metrics, a_lag_above_every_bound_counts_only_in_plus_inf) {
  const metrics::histogram_snapshot h = lag_histogram_of(lags_of({std::chrono::seconds{400}}));
  ASSERT_EQ(h.cumulative.size(), std::size(metrics::lag_seconds_buckets));
  EXPECT_EQ(h.cumulative.back(), 0u);
  EXPECT_EQ(h.count, 1u);
  EXPECT_DOUBLE_EQ(h.sum, 400);
}

}  // namespace
}  // namespace ferry::engine
