// The registry's rules (names, labels, buckets), its values under concurrent use, and the
// lifetime of collectors.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/metrics/registry.hpp"

namespace ferry::engine::metrics {
namespace {

constexpr double buckets[] = {1, 2, 4};
constexpr double unsorted[] = {1, 4, 2};

TEST(metrics_registry, refuses_declarations_against_prometheus_conventions) {
  registry r;
  using t = metric_type;
  EXPECT_THROW(r.add_counter({"ferry_keys_copied", t::counter, "", "No _total."}),
               std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_bytes_total", t::gauge, "", "A gauge named like a counter."}),
               std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"9lives", t::gauge, "", "Starts with a digit."}),
               std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry-dash", t::gauge, "", "A dash."}), std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_x", t::gauge, "", ""}), std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_x", t::gauge, "shard,shard", "Twice."}), std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_x", t::gauge, "__reserved", "Reserved."}),
               std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_x", t::gauge, "a:b", "Colon in a label."}),
               std::invalid_argument);
  EXPECT_THROW(r.add_histogram({"ferry_h_seconds", t::histogram, "le", "le.", buckets}),
               std::invalid_argument);
  EXPECT_THROW(r.add_histogram({"ferry_h_seconds", t::histogram, "", "No buckets."}),
               std::invalid_argument);
  EXPECT_THROW(r.add_histogram({"ferry_h_seconds", t::histogram, "", "Unsorted.", unsorted}),
               std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_g", t::gauge, "", "Buckets on a gauge.", buckets}),
               std::invalid_argument);
  EXPECT_THROW(r.add_gauge({"ferry_c_total", t::counter, "", "Declared a counter."}),
               std::invalid_argument);
  r.add_gauge({"ferry_once", t::gauge, "", "Once."});
  EXPECT_THROW(r.add_gauge({"ferry_once", t::gauge, "", "Twice."}), std::invalid_argument);
  EXPECT_NO_THROW(r.add_gauge({"ferry:recorded", t::gauge, "shard,side", "Colons are allowed."}));
}

TEST(metrics_registry, label_values_must_match_label_names) {
  registry r;
  auto& f = r.add_counter({"ferry_retries_total", metric_type::counter, "shard,cause", "R."});
  EXPECT_THROW(f.with({"a:1"}), std::invalid_argument);
  EXPECT_THROW(f.get(), std::invalid_argument);
  EXPECT_NO_THROW(f.with({"a:1", "moved"}));
  scrape s;
  EXPECT_THROW(s.add(f, {"only one"}, 1), std::invalid_argument);
  auto& h = r.add_histogram({"ferry_h_seconds", metric_type::histogram, "", "H.", buckets});
  EXPECT_THROW(s.add(h, {}, histogram_snapshot{{1, 2}, 3, 1.0}), std::invalid_argument);
}

TEST(metrics_registry, with_returns_the_same_series_for_the_same_labels) {
  registry r;
  auto& f = r.add_counter({"ferry_reconnects_total", metric_type::counter, "shard,side", "R."});
  counter& a = f.with({"a:1", "source"});
  counter& b = f.with({"a:1", "source"});
  counter& c = f.with({"a:1", "target"});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  a.inc();
  b.inc(2);
  EXPECT_EQ(a.value(), 3u);
  EXPECT_EQ(c.value(), 0u);
}

TEST(metrics_registry, histogram_buckets_are_inclusive_upper_bounds) {
  const double bounds[] = {1, 2, 4};
  histogram h(bounds);
  for (double v : {0.0, 1.0, 1.0001, 2.0, 3.0, 4.0, 5.0, 1e9, -1.0}) h.observe(v);
  h.observe(std::nan(""));  // ignored
  const histogram_snapshot s = h.snapshot();
  // <=1: 0, 1, -1   <=2: +1.0001, 2   <=4: +3, 4   +Inf: +5, 1e9
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{3, 5, 7}));
  EXPECT_EQ(s.count, 9u);
  EXPECT_DOUBLE_EQ(s.sum, 0 + 1 + 1.0001 + 2 + 3 + 4 + 5 + 1e9 - 1);
}

TEST(metrics_registry, concurrent_updates_are_all_counted) {
  registry r;
  auto& c = r.add_counter({"ferry_c_total", metric_type::counter, "shard", "C."});
  auto& g = r.add_gauge({"ferry_g", metric_type::gauge, "", "G."});
  auto& h = r.add_histogram({"ferry_h_seconds", metric_type::histogram, "", "H.", buckets});
  constexpr int threads = 4, per_thread = 20'000;
  std::atomic<bool> stop{false};
  // A scraper reads while the writers write, as the metrics server does.
  std::thread scraper([&] {
    for (int i = 0; i < 1000 && !stop.load(); ++i) (void)r.expose();
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      counter& mine = c.with({t % 2 == 0 ? "even" : "odd"});
      histogram& hist = h.get();
      for (int i = 0; i < per_thread; ++i) {
        mine.inc();
        g.get().add(1);
        hist.observe(i % 5);
      }
    });
  }
  for (auto& w : writers) w.join();
  stop = true;
  scraper.join();
  EXPECT_EQ(c.with({"even"}).value() + c.with({"odd"}).value(),
            std::uint64_t{threads * per_thread});
  EXPECT_DOUBLE_EQ(g.get().value(), threads * per_thread);
  const auto s = h.get().snapshot();
  EXPECT_EQ(s.count, std::uint64_t{threads * per_thread});
  EXPECT_DOUBLE_EQ(s.sum, threads * (per_thread / 5) * (0 + 1 + 2 + 3 + 4));
}

TEST(metrics_registry, destroying_a_handle_waits_for_a_running_collector) {
  registry r;
  auto& g = r.add_gauge({"ferry_g", metric_type::gauge, "", "G."});
  std::atomic<bool> inside{false};
  std::atomic<bool> finished{false};
  auto job = std::make_unique<int>(5);  // what the collector reads; freed after the handle
  collector_handle handle = r.add_collector([&](scrape& s) {
    inside = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s.add(g, {}, *job);
    finished = true;
  });
  std::thread scraper([&] { (void)r.expose(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!inside && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(inside);
  handle.reset();  // blocks until the scrape above is done with `job`
  EXPECT_TRUE(finished);
  job.reset();
  scraper.join();
  EXPECT_EQ(r.expose(), "");
}

TEST(metrics_registry, moved_handle_keeps_the_registration) {
  registry r;
  auto& g = r.add_gauge({"ferry_g", metric_type::gauge, "", "G."});
  collector_handle outer;
  {
    collector_handle inner = r.add_collector([&](scrape& s) { s.add(g, {}, 1); });
    outer = std::move(inner);
  }
  EXPECT_NE(r.expose(), "");
  outer = collector_handle{};
  EXPECT_EQ(r.expose(), "");
}

}  // namespace
}  // namespace ferry::engine::metrics
