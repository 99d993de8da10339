// A real Prometheus (Debian's) scrapes the metrics endpoint every second; its HTTP API returns
// the values the job holds, histograms included; and it scrapes a real `ferry copy --metrics`
// while it copies, and finds the job's keys copied equal to its report's (the last scrape comes
// while the endpoint lingers after the job, --metrics-linger).

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "engine/metrics/http_server.hpp"
#include "engine/metrics/job_metrics.hpp"
#include "tests/integration/metrics_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/prometheus.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
namespace metrics = engine::metrics;

TEST(metrics_prometheus, a_real_prometheus_scrapes_the_values_the_job_holds) {
  if (!prometheus_server::available()) {
    std::printf("prometheus not installed (Debian's prometheus package): test skipped\n");
    GTEST_SKIP();
  }
  metrics::registry registry;
  metrics::job_metrics m(registry, "copy", "0.1.0");
  metrics::health health;
  std::atomic<std::uint64_t> copied{0};
  const std::string shard = "127.0.0.1:7001";
  const auto reading = registry.add_collector([&](metrics::scrape& s) {
    s.add(m.keys_copied, {shard}, static_cast<double>(copied.load()));
  });
  auto& reads = m.read_batch_duration.with({shard});
  for (int i = 0; i < 90; ++i) reads.observe(0.003);  // bucket le=0.005
  for (int i = 0; i < 10; ++i) reads.observe(0.7);    // bucket le=1
  m.set_phase(metrics::job_phase::running);
  copied = 12345;
  auto server =
      metrics::metrics_server::start(*metrics::parse_listen_address("0"), registry, health);
  ASSERT_TRUE(server) << server.error().message;
  const auto port = (*server)->where().port;

  prometheus_options options;
  options.targets = {fmt::format("127.0.0.1:{}", port)};
  prometheus_server prometheus(options);
  ASSERT_TRUE(prometheus.wait_for_scrape(60s)) << prometheus.log_tail();

  const auto selector = fmt::format("{{job='ferry',shard='{}'}}", shard);
  auto seen = prometheus.wait_for(
      "ferry_keys_copied_total" + selector, [](double v) { return v == 12345; }, 30s);
  ASSERT_TRUE(seen) << prometheus.log_tail();
  EXPECT_EQ(*seen, 12345);
  // A value that changes is seen changed at a later scrape.
  copied = 20000;
  seen = prometheus.wait_for(
      "ferry_keys_copied_total" + selector, [](double v) { return v == 20000; }, 30s);
  EXPECT_EQ(seen.value_or(-1), 20000);

  EXPECT_EQ(prometheus.value("ferry_job_phase{job='ferry',phase='running'}").value_or(-1), 1);
  EXPECT_EQ(prometheus.value("ferry_read_batch_duration_seconds_count" + selector).value_or(-1),
            100);
  // 90 of 100 batches at <= 5 ms: the median is interpolated inside the le=0.005 bucket
  // (0.0025..0.005), the p95 inside le=1 (0.5..1).
  const auto p50 = prometheus.value(
      "histogram_quantile(0.5, ferry_read_batch_duration_seconds_bucket" + selector + ")");
  ASSERT_TRUE(p50);
  EXPECT_GT(*p50, 0.0025);
  EXPECT_LE(*p50, 0.005);
  const auto p95 = prometheus.value(
      "histogram_quantile(0.95, ferry_read_batch_duration_seconds_bucket" + selector + ")");
  ASSERT_TRUE(p95);
  EXPECT_GT(*p95, 0.5);
  EXPECT_LE(*p95, 1.0);
  // The process metrics are there for the dashboard's memory panel.
  const auto rss = prometheus.value("process_resident_memory_bytes{job='ferry'}");
  ASSERT_TRUE(rss);
  EXPECT_GT(*rss, 1 << 20);
}

TEST(metrics_prometheus, a_real_prometheus_scrapes_a_running_copy_and_its_final_counts) {
  if (!prometheus_server::available()) {
    std::printf("prometheus not installed (Debian's prometheus package): test skipped\n");
    GTEST_SKIP();
  }
  redis_server source;
  redis_server target;
  {
    sync_client writer = source.client();
    fill_every_type(writer);
    fill_strings(writer, 24'000, 100, 51);
  }
  temp_dir dir("metrics-prometheus-copy");
  const auto report_file = dir / "report.json";
  // Slowed so that scrapes come while it copies; the endpoint stays up after the job for the
  // last scrapes (Prometheus marks a target's series stale once it stops answering).
  ferry_process ferry({"copy", "--source", source.url(), "--target", target.url(), "--report",
                       report_file.string(), "--progress", "never", "--max-keys-per-sec", "3000",
                       "--metrics", "127.0.0.1:0", "--metrics-linger", "60"},
                      dir.path());
  const std::uint16_t port = metrics_port(ferry);
  ASSERT_NE(port, 0) << ferry.err_so_far();

  prometheus_options options;
  options.targets = {fmt::format("127.0.0.1:{}", port)};
  prometheus_server prometheus(options);
  ASSERT_TRUE(prometheus.wait_for_scrape(60s)) << prometheus.log_tail();
  // Scraped while running, with keys copied and more to come.
  const auto running = prometheus.wait_for(
      "sum(ferry_keys_copied_total{job='ferry'}) and on() ferry_job_phase{job='ferry',"
      "phase='running'} == 1",
      [](double v) { return v > 0; }, 60s);
  EXPECT_TRUE(running) << "no scrape while the copy ran: " << prometheus.log_tail();

  for (const auto deadline = std::chrono::steady_clock::now() + 120s;
       !std::filesystem::exists(report_file) && std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(std::filesystem::exists(report_file)) << ferry.err_so_far();
  const auto report = read_json(report_file);
  ASSERT_EQ(report.at("status"), "complete") << report.dump();
  const double copied = report.at("totals").at("copied").get<double>();
  ASSERT_GT(copied, 24'000);
  // The last scrapes, while the endpoint lingers: the report's count, and the phase.
  const auto seen = prometheus.wait_for(
      "sum(ferry_keys_copied_total{job='ferry'})", [&](double v) { return v == copied; }, 30s);
  EXPECT_EQ(seen.value_or(-1), copied) << prometheus.log_tail();
  const auto complete = prometheus.wait_for(
      "ferry_job_phase{job='ferry',phase='complete'}", [](double v) { return v == 1; }, 30s);
  EXPECT_EQ(complete.value_or(-1), 1);
  EXPECT_EQ(prometheus.value("sum(ferry_payload_bytes_total{job='ferry'})").value_or(-1),
            report.at("totals").at("bytes").get<double>());
  EXPECT_GT(
      prometheus.value("sum(ferry_read_batch_duration_seconds_count{job='ferry'})").value_or(0), 0);

  ferry.signal(SIGTERM);  // ends the linger
  EXPECT_EQ(ferry.wait(30s).exit_code, 0);
}

}  // namespace
}  // namespace ferry::testing
