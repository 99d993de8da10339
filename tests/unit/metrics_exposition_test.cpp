// The text exposition format 0.0.4: exact text for a small registry, escaping, number forms and
// histogram buckets.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/metrics/exposition.hpp"
#include "engine/metrics/registry.hpp"

namespace ferry::engine::metrics {
namespace {

constexpr double small_buckets[] = {0.01, 0.1, 1};

TEST(metrics_exposition, small_registry_exact_text) {
  registry r;
  auto& copied = r.add_counter(
      {"ferry_keys_copied_total", metric_type::counter, "shard", "Keys the target acknowledged."});
  auto& inflight = r.add_gauge(
      {"ferry_inflight_bytes", metric_type::gauge, "", "Payload bytes held in memory now."});
  auto& reads = r.add_histogram({"ferry_read_batch_duration_seconds", metric_type::histogram,
                                 "shard", "Time to read one batch.", small_buckets});
  copied.with({"10.0.0.6:6379"}).inc(7);
  copied.with({"10.0.0.5:6379"}).inc(1200);
  inflight.get().set(4096);
  auto& h = reads.with({"10.0.0.5:6379"});
  h.observe(0.005);  // <= 0.01
  h.observe(0.01);   // le is inclusive: still the first bucket
  h.observe(0.5);    // <= 1
  h.observe(3);      // only +Inf
  EXPECT_EQ(r.expose(),
            "# HELP ferry_keys_copied_total Keys the target acknowledged.\n"
            "# TYPE ferry_keys_copied_total counter\n"
            "ferry_keys_copied_total{shard=\"10.0.0.5:6379\"} 1200\n"
            "ferry_keys_copied_total{shard=\"10.0.0.6:6379\"} 7\n"
            "# HELP ferry_inflight_bytes Payload bytes held in memory now.\n"
            "# TYPE ferry_inflight_bytes gauge\n"
            "ferry_inflight_bytes 4096\n"
            "# HELP ferry_read_batch_duration_seconds Time to read one batch.\n"
            "# TYPE ferry_read_batch_duration_seconds histogram\n"
            "ferry_read_batch_duration_seconds_bucket{shard=\"10.0.0.5:6379\",le=\"0.01\"} 2\n"
            "ferry_read_batch_duration_seconds_bucket{shard=\"10.0.0.5:6379\",le=\"0.1\"} 2\n"
            "ferry_read_batch_duration_seconds_bucket{shard=\"10.0.0.5:6379\",le=\"1\"} 3\n"
            "ferry_read_batch_duration_seconds_bucket{shard=\"10.0.0.5:6379\",le=\"+Inf\"} 4\n"
            "ferry_read_batch_duration_seconds_sum{shard=\"10.0.0.5:6379\"} 3.515\n"
            "ferry_read_batch_duration_seconds_count{shard=\"10.0.0.5:6379\"} 4\n");
}

TEST(metrics_exposition, families_without_samples_are_left_out) {
  registry r;
  r.add_counter({"ferry_keys_failed_total", metric_type::counter, "shard", "Failed keys."});
  EXPECT_EQ(r.expose(), "");
}

TEST(metrics_exposition, collected_samples_follow_owned_ones_in_their_family) {
  registry r;
  auto& copied =
      r.add_counter({"ferry_keys_copied_total", metric_type::counter, "shard", "Copied."});
  auto& budget =
      r.add_gauge({"ferry_inflight_budget_bytes", metric_type::gauge, "", "The budget."});
  copied.with({"a:1"}).inc(3);
  std::uint64_t job_counter = 41;  // a counter the job keeps, read at scrape time
  collector_handle handle = r.add_collector([&](scrape& s) {
    s.add(copied, {"b:2"}, static_cast<double>(job_counter));
    s.add(budget, {}, 67108864);
  });
  ++job_counter;
  const std::string text = r.expose();
  EXPECT_EQ(text,
            "# HELP ferry_keys_copied_total Copied.\n"
            "# TYPE ferry_keys_copied_total counter\n"
            "ferry_keys_copied_total{shard=\"a:1\"} 3\n"
            "ferry_keys_copied_total{shard=\"b:2\"} 42\n"
            "# HELP ferry_inflight_budget_bytes The budget.\n"
            "# TYPE ferry_inflight_budget_bytes gauge\n"
            "ferry_inflight_budget_bytes 67108864\n");
  handle.reset();  // unregistered: the job's counter is no longer read
  EXPECT_EQ(r.expose(),
            "# HELP ferry_keys_copied_total Copied.\n"
            "# TYPE ferry_keys_copied_total counter\n"
            "ferry_keys_copied_total{shard=\"a:1\"} 3\n");
}

TEST(metrics_exposition, label_values_and_help_are_escaped) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_help(R"(back\slash "quoted")"
                        "\n"
                        "second line"),
            R"(back\\slash "quoted"\nsecond line)");
  registry r;
  auto& g = r.add_gauge({"ferry_test_gauge", metric_type::gauge, "key",
                         "Line one\nline two with \\ and \"quotes\"."});
  g.with({"we\"ird\\key\nname"}).set(1);
  EXPECT_EQ(r.expose(),
            "# HELP ferry_test_gauge Line one\\nline two with \\\\ and \"quotes\".\n"
            "# TYPE ferry_test_gauge gauge\n"
            "ferry_test_gauge{key=\"we\\\"ird\\\\key\\nname\"} 1\n");
}

TEST(metrics_exposition, values_print_as_prometheus_parses_them) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-7), "-7");
  EXPECT_EQ(format_value(1.5), "1.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(0.0005), "0.0005");
  EXPECT_EQ(format_value(1764581166.25), "1764581166.25");
  EXPECT_EQ(format_value(9007199254740991.0), "9007199254740991");  // 2^53 - 1: exact
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(metrics_exposition, histogram_without_labels_and_collected_histogram) {
  registry r;
  auto& lag = r.add_histogram(
      {"ferry_sync_lag_seconds", metric_type::histogram, "", "Lag.", small_buckets});
  auto& other = r.add_histogram(
      {"ferry_other_seconds", metric_type::histogram, "shard", "Other.", small_buckets});
  lag.get();  // created at zero: every bucket is exposed, so rates start from 0
  collector_handle handle = r.add_collector([&](scrape& s) {
    s.add(other, {"x:1"}, histogram_snapshot{{1, 5, 6}, 9, 12.5});
  });
  EXPECT_EQ(r.expose(),
            "# HELP ferry_sync_lag_seconds Lag.\n"
            "# TYPE ferry_sync_lag_seconds histogram\n"
            "ferry_sync_lag_seconds_bucket{le=\"0.01\"} 0\n"
            "ferry_sync_lag_seconds_bucket{le=\"0.1\"} 0\n"
            "ferry_sync_lag_seconds_bucket{le=\"1\"} 0\n"
            "ferry_sync_lag_seconds_bucket{le=\"+Inf\"} 0\n"
            "ferry_sync_lag_seconds_sum 0\n"
            "ferry_sync_lag_seconds_count 0\n"
            "# HELP ferry_other_seconds Other.\n"
            "# TYPE ferry_other_seconds histogram\n"
            "ferry_other_seconds_bucket{shard=\"x:1\",le=\"0.01\"} 1\n"
            "ferry_other_seconds_bucket{shard=\"x:1\",le=\"0.1\"} 5\n"
            "ferry_other_seconds_bucket{shard=\"x:1\",le=\"1\"} 6\n"
            "ferry_other_seconds_bucket{shard=\"x:1\",le=\"+Inf\"} 9\n"
            "ferry_other_seconds_sum{shard=\"x:1\"} 12.5\n"
            "ferry_other_seconds_count{shard=\"x:1\"} 9\n");
}

}  // namespace
}  // namespace ferry::engine::metrics
