// deploy/prometheus/ferry-alerts.yml: promtool accepts it and its unit tests pass; it names only
// metrics ferry exposes; and a real Prometheus loading it fires FerryJobFailed for a failed job.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "engine/metrics/http_server.hpp"
#include "engine/metrics/job_metrics.hpp"
#include "engine/metrics/process_metrics.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
namespace metrics = engine::metrics;

const std::filesystem::path alerts =
    std::filesystem::path(FERRY_SOURCE_DIR) / "deploy" / "prometheus" / "ferry-alerts.yml";
const std::filesystem::path alert_tests = alerts.parent_path() / "ferry-alerts.test.yml";

// Every series name a PromQL text may use: families, histograms' _bucket/_sum/_count.
std::set<std::string> known_series() {
  std::set<std::string> names;
  auto add = [&](const metrics::family_spec& spec) {
    names.insert(std::string(spec.name));
    if (spec.type == metrics::metric_type::histogram) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        names.insert(std::string(spec.name) + suffix);
      }
    }
  };
  for (const auto* spec : metrics::families::all) add(*spec);
  for (const auto* spec : metrics::families::process_all) add(*spec);
  return names;
}

TEST(deploy_prometheus, promtool_checks_the_rules_and_their_unit_tests_pass) {
  const auto promtool = find_tool("promtool");
  if (!promtool) {
    std::printf("promtool not installed (Debian's prometheus package): test skipped\n");
    GTEST_SKIP();
  }
  const tool_result check = run_tool({promtool->string(), "check", "rules", alerts.string()});
  EXPECT_EQ(check.exit_code, 0) << check.output;
  EXPECT_NE(check.output.find("SUCCESS: 5 rules found"), std::string::npos) << check.output;
  const tool_result unit = run_tool({promtool->string(), "test", "rules", alert_tests.string()});
  EXPECT_EQ(unit.exit_code, 0) << unit.output;
  EXPECT_NE(unit.output.find("SUCCESS"), std::string::npos) << unit.output;
}

TEST(deploy_prometheus, the_rules_name_only_metrics_ferry_exposes) {
  const std::string text = file_contents(alerts);
  ASSERT_FALSE(text.empty()) << alerts;
  const auto known = known_series();
  const std::regex name(R"(\b(ferry_[a-z_]+|process_[a-z_]+)\b)");
  std::size_t seen = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it) {
    ++seen;
    EXPECT_TRUE(known.contains(it->str())) << it->str() << " is not a metric ferry exposes";
  }
  EXPECT_GT(seen, 10u);
  for (const char* alert : {"FerryJobStalled", "FerryFailedKeysGrowing", "FerrySyncLagHigh",
                            "FerryTokenAboutToExpire", "FerryJobFailed"}) {
    EXPECT_NE(text.find(std::string("alert: ") + alert), std::string::npos) << alert;
  }
}

TEST(deploy_prometheus, a_real_prometheus_fires_job_failed_from_ferrys_metrics) {
  if (!prometheus_server::available()) {
    std::printf("prometheus not installed (Debian's prometheus package): test skipped\n");
    GTEST_SKIP();
  }
  metrics::registry registry;
  metrics::job_metrics m(registry, "copy", "0.1.0");
  metrics::health health;
  m.set_phase(metrics::job_phase::running);
  auto server =
      metrics::metrics_server::start(*metrics::parse_listen_address("0"), registry, health);
  ASSERT_TRUE(server) << server.error().message;
  prometheus_options options;
  options.targets = {fmt::format("127.0.0.1:{}", (*server)->where().port)};
  options.rule_files = {alerts};
  prometheus_server prometheus(options);
  ASSERT_TRUE(prometheus.wait_for_scrape(60s)) << prometheus.log_tail();
  const std::string firing = "count(ALERTS{alertname='FerryJobFailed',alertstate='firing'})";
  // Running: nothing fires (a few evaluations, 1 s apart).
  std::this_thread::sleep_for(3s);
  EXPECT_FALSE(prometheus.value(firing).has_value());
  m.set_phase(metrics::job_phase::failed);
  const auto seen = prometheus.wait_for(
      firing, [](double v) { return v == 1; }, 60s);
  EXPECT_EQ(seen.value_or(0), 1) << prometheus.log_tail();
}

}  // namespace
}  // namespace ferry::testing
