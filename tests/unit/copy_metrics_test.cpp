// What a scrape of a copy or verify job exposes: per shard (a node's rescans summed into its
// series, each series once), retries by cause only where they happened, reconnects per side,
// histograms summed, the job-wide gauges, and the verdicts by kind.

#include "engine/copy/copy_metrics.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "engine/verify/verify_metrics.hpp"

namespace ferry::engine {
namespace {

namespace metrics = engine::metrics;

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) found.push_back(line);
  }
  return found;
}

/// A shard of `source` with `copied` keys and one read batch of `seconds`.
shard_snapshot shard(const std::string& source, std::uint64_t copied, double seconds,
                     bool rescan = false, bool complete = true) {
  shard_snapshot s;
  s.source = source;
  s.rescan = rescan;
  s.complete = complete;
  s.totals.copied = copied;
  s.totals.scanned = copied + 1;
  s.totals.bytes = copied * 100;
  s.totals.estimated = copied;
  metrics::histogram h(metrics::batch_seconds_buckets);
  h.observe(seconds);
  s.reads = h.snapshot();
  s.writes = metrics::histogram(metrics::batch_seconds_buckets).snapshot();
  return s;
}

TEST(copy_metrics, a_nodes_rescans_add_to_its_series_and_each_series_appears_once) {
  metrics::registry r;
  metrics::job_metrics m(r, "copy", "0.1.0");
  std::vector<shard_snapshot> shards{shard("10.0.0.5:6379", 100, 0.003),
                                     shard("10.0.0.6:6379", 50, 0.7),
                                     shard("10.0.0.5:6379", 7, 0.004, true, false)};
  shards[0].source_links.retries[static_cast<std::size_t>(protocol::errc::moved)] = 2;
  shards[2].target_links.retries[static_cast<std::size_t>(protocol::errc::moved)] = 1;
  shards[1].target_links.retries[static_cast<std::size_t>(protocol::errc::connection_closed)] = 4;
  shards[1].target_links.reconnects = 3;
  copy_gauges job;
  job.inflight_bytes = 12345;
  job.inflight_budget = 64 << 20;
  job.checkpoint_time = 1.7e9;
  const auto collected =
      r.add_collector([&](metrics::scrape& s) { add_copy_samples(s, m, shards, job); });
  const std::string text = r.expose();

  EXPECT_EQ(lines_starting(text, "ferry_keys_copied_total{"),
            (std::vector<std::string>{R"(ferry_keys_copied_total{shard="10.0.0.5:6379"} 107)",
                                      R"(ferry_keys_copied_total{shard="10.0.0.6:6379"} 50)"}));
  EXPECT_EQ(lines_starting(text, "ferry_payload_bytes_total{shard=\"10.0.0.5:6379\"}"),
            std::vector<std::string>{R"(ferry_payload_bytes_total{shard="10.0.0.5:6379"} 10700)"});
  // The node's rescan is not finished, so neither is its series.
  EXPECT_EQ(lines_starting(text, "ferry_shard_complete{"),
            (std::vector<std::string>{R"(ferry_shard_complete{shard="10.0.0.5:6379"} 0)",
                                      R"(ferry_shard_complete{shard="10.0.0.6:6379"} 1)"}));
  EXPECT_EQ(lines_starting(text, "ferry_retries_total{"),
            (std::vector<std::string>{
                R"(ferry_retries_total{shard="10.0.0.5:6379",cause="moved"} 3)",
                R"(ferry_retries_total{shard="10.0.0.6:6379",cause="connection_closed"} 4)"}));
  EXPECT_EQ(lines_starting(text, "ferry_reconnects_total{shard=\"10.0.0.6:6379\""),
            (std::vector<std::string>{
                R"(ferry_reconnects_total{shard="10.0.0.6:6379",side="source"} 0)",
                R"(ferry_reconnects_total{shard="10.0.0.6:6379",side="target"} 3)"}));
  EXPECT_EQ(
      lines_starting(text, "ferry_read_batch_duration_seconds_count{shard=\"10.0.0.5:6379\"}"),
      std::vector<std::string>{
          R"(ferry_read_batch_duration_seconds_count{shard="10.0.0.5:6379"} 2)"});
  EXPECT_EQ(
      lines_starting(
          text, "ferry_read_batch_duration_seconds_bucket{shard=\"10.0.0.5:6379\",le=\"0.005\"}"),
      std::vector<std::string>{
          R"(ferry_read_batch_duration_seconds_bucket{shard="10.0.0.5:6379",le="0.005"} 2)"});
  EXPECT_EQ(lines_starting(text, "ferry_inflight_bytes "),
            std::vector<std::string>{"ferry_inflight_bytes 12345"});
  EXPECT_EQ(lines_starting(text, "ferry_inflight_budget_bytes "),
            std::vector<std::string>{"ferry_inflight_budget_bytes 67108864"});
  EXPECT_EQ(lines_starting(text, "ferry_checkpoint_timestamp_seconds ").size(), 1u);
  // No inline verifier: no verify series.
  EXPECT_TRUE(lines_starting(text, "ferry_verify_").empty());
}

TEST(copy_metrics, before_any_shard_only_the_job_gauges_are_there) {
  metrics::registry r;
  metrics::job_metrics m(r, "copy", "0.1.0");
  const auto collected = r.add_collector([&](metrics::scrape& s) {
    add_copy_samples(s, m, {}, copy_gauges{0, 1 << 20, 0, false, {}});
  });
  const std::string text = r.expose();
  EXPECT_TRUE(lines_starting(text, "ferry_keys_copied_total").empty());
  EXPECT_TRUE(lines_starting(text, "ferry_checkpoint_timestamp_seconds").empty());
  EXPECT_EQ(lines_starting(text, "ferry_inflight_bytes ").size(), 1u);
}

TEST(verify_metrics, every_verdict_kind_is_there_and_the_inline_verifier_has_no_scans) {
  verify_counts c;
  c[verify_counter::scanned] = 10;
  c[verify_counter::target_scanned] = 11;
  c[verify_counter::checked] = 9;
  c[verify_counter::equal] = 7;
  c[verify_counter::missing] = 1;
  c[verify_counter::extra] = 2;
  c[verify_counter::repaired] = 3;
  {
    metrics::registry r;
    metrics::job_metrics m(r, "verify", "0.1.0");
    const auto collected = r.add_collector(
        [&](metrics::scrape& s) { add_verify_samples(s, m, c, verify_scope::job); });
    const std::string text = r.expose();
    EXPECT_EQ(lines_starting(text, "ferry_verify_keys_total{").size(), 8u);
    EXPECT_EQ(lines_starting(text, R"(ferry_verify_keys_total{kind="missing"})"),
              std::vector<std::string>{R"(ferry_verify_keys_total{kind="missing"} 1)"});
    EXPECT_EQ(lines_starting(text, R"(ferry_verify_keys_total{kind="value"})"),
              std::vector<std::string>{R"(ferry_verify_keys_total{kind="value"} 0)"});
    EXPECT_EQ(lines_starting(text, "ferry_verify_keys_scanned_total{"),
              (std::vector<std::string>{R"(ferry_verify_keys_scanned_total{side="source"} 10)",
                                        R"(ferry_verify_keys_scanned_total{side="target"} 11)"}));
    EXPECT_EQ(lines_starting(text, R"(ferry_verify_repairs_total{result="repaired"})"),
              std::vector<std::string>{R"(ferry_verify_repairs_total{result="repaired"} 3)"});
  }
  {
    metrics::registry r;
    metrics::job_metrics m(r, "copy", "0.1.0");
    const auto collected = r.add_collector([&](metrics::scrape& s) {
      add_copy_samples(s, m, {}, copy_gauges{0, 1, 0, true, c});
    });
    const std::string text = r.expose();
    EXPECT_EQ(lines_starting(text, "ferry_verify_keys_total{").size(), 7u);  // no "extra"
    EXPECT_EQ(lines_starting(text, "ferry_verify_keys_checked_total "),
              std::vector<std::string>{"ferry_verify_keys_checked_total 9"});
    EXPECT_TRUE(lines_starting(text, "ferry_verify_keys_scanned_total").empty());
    EXPECT_TRUE(lines_starting(text, "ferry_verify_repairs_total").empty());
  }
}

}  // namespace
}  // namespace ferry::engine
