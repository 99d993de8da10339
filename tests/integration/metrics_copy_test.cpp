// `ferry copy --metrics` and `ferry verify --metrics` as a user runs them: scraped with a plain
// HTTP client while the job runs and after it ended (--metrics-linger). The output passes
// `promtool check metrics` during a copy and a verify; the copy's counts equal its report's;
// retries and reconnects show a source that dropped ferry's connections; the token expiry is
// the token's `exp`; no password or token byte is ever served; /healthz fails once the job
// failed; a signal cuts the linger short; a taken port stops the job before any work.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "tests/integration/metrics_support.hpp"
#include "tests/support/acl_rules.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class metrics_copy_test : public ::testing::Test {
 protected:
  temp_dir dir_{"metrics-copy"};

  fs::path write(const std::string& name, const std::string& text) const {
    const auto file = dir_ / name;
    std::ofstream(file) << text;
    return file;
  }
  /// Scrapes /metrics every `every` while `ferry` runs and until `done` says so (bounded).
  std::vector<std::string> scrape_while(ferry_process& ferry, std::uint16_t port,
                                        const std::function<bool()>& done,
                                        std::chrono::milliseconds every = 100ms) {
    std::vector<std::string> bodies;
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (ferry.running() && !done() && std::chrono::steady_clock::now() < deadline) {
      const http_result r = http_get(port, "/metrics");
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
      bodies.push_back(r.body);
      std::this_thread::sleep_for(every);
    }
    return bodies;
  }
};

TEST_F(metrics_copy_test, a_copy_serves_its_counts_cleanly_and_nothing_secret) {
  server_options source_options;
  source_options.password = "src-Secret-8hJq2";
  redis_server source(source_options);
  redis_server target;
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_every_type(source_admin);
  fill_strings(source_admin, 16'000, 100, 41);
  const auto expires = std::chrono::system_clock::now() + 2h;
  const std::string oid = "7e1d2c3b-metrics-oid";
  const std::string token = make_token(expires, oid, "m1");
  add_user(target_admin, oid, token, joined(target_rules_copy(), both_rules_verify()));
  const auto started = std::chrono::system_clock::now();

  // The password comes from a file only (the URL would carry it too).
  ferry_process ferry({"copy",
                       "--source",
                       fmt::format("redis://127.0.0.1:{}", source.port()),
                       "--source-password-file",
                       write("source-password", source_options.password + "\n").string(),
                       "--target",
                       target.url(),
                       "--target-token-file",
                       write("target.jwt", token + "\n").string(),
                       "--state",
                       (dir_ / "state.json").string(),
                       "--report",
                       (dir_ / "report.json").string(),
                       "--verify",
                       "--progress",
                       "never",
                       "--max-keys-per-sec",
                       "5000",
                       "--checkpoint-interval",
                       "0.3",
                       "--metrics",
                       "127.0.0.1:0",
                       "--metrics-linger",
                       "30"},
                      dir_.path());
  const std::uint16_t port = metrics_port(ferry);
  ASSERT_NE(port, 0) << ferry.err_so_far();

  // Mid-copy, the source drops every connection of ferry's: the readers reconnect.
  bool dropped = false;
  const fs::path report_file = dir_ / "report.json";
  auto during = scrape_while(ferry, port, [&] {
    if (!dropped && std::chrono::system_clock::now() - started > 1500ms) {
      source_admin.checked({"CLIENT", "KILL", "TYPE", "normal"});
      dropped = true;
    }
    return fs::exists(report_file);
  });
  ASSERT_TRUE(dropped) << ferry.err_so_far();
  ASSERT_TRUE(fs::exists(report_file)) << ferry.err_so_far();
  // The job ended; the endpoint lingers with the final values.
  std::this_thread::sleep_for(200ms);
  const http_result last = http_get(port, "/metrics");
  ASSERT_EQ(last.status, 200);
  const auto report = read_json(report_file);
  ASSERT_EQ(report.at("status"), "complete") << report.dump();

  // promtool is happy with a scrape taken while keys were being copied, and with the last.
  std::string mid;
  for (const auto& body : during) {
    if (sum_of(body, "ferry_keys_copied_total").value_or(0) > 0 &&
        value_of(body, R"(ferry_job_phase{phase="running"})") == 1) {
      mid = body;
    }
  }
  ASSERT_FALSE(mid.empty()) << "no scrape while keys were being copied";
  EXPECT_EQ(promtool_problems(mid, dir_.path()), "") << mid;
  EXPECT_EQ(promtool_problems(last.body, dir_.path()), "") << last.body;

  const std::string& b = last.body;
  EXPECT_EQ(value_of(b, R"(ferry_job_phase{phase="complete"})"), 1);
  EXPECT_EQ(value_of(b, R"(ferry_job_info{command="copy",version=")" FERRY_PROJECT_VERSION R"("})"),
            1);
  const double start_time = value_of(b, "ferry_job_start_time_seconds").value_or(0);
  EXPECT_NEAR(start_time, std::chrono::duration<double>(started.time_since_epoch()).count(), 30);
  const std::string shard = fmt::format(R"({{shard="127.0.0.1:{}"}})", source.port());
  const auto& totals = report.at("totals");
  EXPECT_EQ(value_of(b, "ferry_keys_copied_total" + shard), totals.at("copied").get<double>());
  EXPECT_EQ(value_of(b, "ferry_keys_scanned_total" + shard), totals.at("scanned").get<double>());
  EXPECT_EQ(value_of(b, "ferry_payload_bytes_total" + shard), totals.at("bytes").get<double>());
  EXPECT_EQ(value_of(b, "ferry_keys_failed_total" + shard), 0);
  EXPECT_EQ(value_of(b, "ferry_shard_complete" + shard), 1);
  EXPECT_GT(value_of(b, "ferry_read_batch_duration_seconds_count" + shard).value_or(0), 0);
  EXPECT_GT(value_of(b, "ferry_write_batch_duration_seconds_count" + shard).value_or(0), 0);
  EXPECT_EQ(value_of(b, "ferry_inflight_budget_bytes"), 64 << 20);
  EXPECT_EQ(value_of(b, "ferry_inflight_bytes"), 0) << "the job ended: nothing is held";
  EXPECT_GT(value_of(b, "ferry_checkpoint_timestamp_seconds").value_or(0), start_time);
  // The dropped connections: reconnects on the source side, retries by their cause.
  EXPECT_GE(
      value_of(b, fmt::format(R"(ferry_reconnects_total{{shard="127.0.0.1:{}",side="source"}})",
                              source.port()))
          .value_or(0),
      1)
      << b;
  EXPECT_GE(sum_of(b, "ferry_retries_total").value_or(0), 1) << b;
  EXPECT_EQ(sum_of(b, "ferry_retries_total").value_or(0), totals.at("retries").get<double>());
  // The inline verifier's verdicts.
  EXPECT_EQ(value_of(b, R"(ferry_verify_keys_total{kind="missing"})"), 0);
  EXPECT_EQ(value_of(b, R"(ferry_verify_keys_total{kind="equal"})"),
            report.at("verify").at("equal").get<double>());
  // The target's token, by its expiry; the source has a password, which has none.
  EXPECT_EQ(
      value_of(b, R"(ferry_token_expiry_timestamp_seconds{side="target"})"),
      static_cast<double>(
          std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count()));
  EXPECT_FALSE(value_of(b, R"(ferry_token_expiry_timestamp_seconds{side="source"})"));
  EXPECT_EQ(http_get(port, "/healthz").body, "ok\n");

  // Nothing secret in any scrape, nor in /healthz.
  during.push_back(last.body);
  during.push_back(http_get(port, "/healthz").body);
  for (const auto& body : during) {
    for (const std::string& secret :
         {source_options.password, token.substr(token.rfind('.') - 20), oid}) {
      ASSERT_TRUE(leaked_parts(body, secret).empty()) << secret << " in\n" << body;
    }
  }

  // A signal ends the linger (30 s) at once; the job's exit code stands.
  const auto signalled = std::chrono::steady_clock::now();
  ferry.signal(SIGTERM);
  const ferry_result result = ferry.wait(20s);
  EXPECT_EQ(result.exit_code, 0) << result.output();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 10s);
  expect_exact_copy(source_admin, target_admin);
}

TEST_F(metrics_copy_test, healthz_fails_once_the_copy_failed) {
  redis_server source;
  server_options small;
  small.maxmemory = "2mb";
  small.extra_args = {"--maxmemory-policy", "noeviction"};
  redis_server target(small);
  sync_client source_admin = source.client();
  fill_strings(source_admin, 20'000, 1'000, 42);
  ferry_process ferry({"copy", "--source", source.url(), "--target", target.url(), "--progress",
                       "never", "--metrics", "0", "--metrics-linger", "60"},
                      dir_.path());
  const std::uint16_t port = metrics_port(ferry);
  ASSERT_NE(port, 0) << ferry.err_so_far();
  http_result health;
  for (const auto deadline = std::chrono::steady_clock::now() + 60s;
       std::chrono::steady_clock::now() < deadline;) {
    health = http_get(port, "/healthz");
    if (health.status != 200) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_TRUE(health.body.starts_with("failed: ")) << health.body;
  EXPECT_NE(health.body.find("out of memory"), std::string::npos) << health.body;
  // Once the job has ended, the phase says so too.
  for (const auto deadline = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < deadline;) {
    const std::string body = http_get(port, "/metrics").body;
    if (value_of(body, R"(ferry_job_phase{phase="failed"})") == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(value_of(http_get(port, "/metrics").body, R"(ferry_job_phase{phase="failed"})"), 1);
  EXPECT_EQ(http_get(port, "/healthz").status, 503);
  ferry.signal(SIGTERM);
  const ferry_result result = ferry.wait(20s);
  EXPECT_EQ(result.exit_code, 2) << result.output();
}

TEST_F(metrics_copy_test, a_verify_serves_its_verdicts_cleanly) {
  redis_server source;
  redis_server target;
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_strings(source_admin, 30'000, 100, 43);
  const ferry_result copy = run_ferry(
      {"copy", "--source", source.url(), "--target", target.url(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output();
  target_admin.checked({"DEL", "str:17", "str:18", "str:19"});
  target_admin.checked({"SET", "only-on-the-target", "x"});

  ferry_process ferry({"verify", "--source", source.url(), "--target", target.url(), "--report",
                       (dir_ / "verify.json").string(), "--progress", "never", "--metrics", "0",
                       "--metrics-linger", "30"},
                      dir_.path());
  const std::uint16_t port = metrics_port(ferry);
  ASSERT_NE(port, 0) << ferry.err_so_far();
  // The target stops answering for a moment, so a scrape lands while the verify runs.
  target_admin.checked({"CLIENT", "PAUSE", "1500", "ALL"});
  std::string mid;
  const auto bodies = scrape_while(
      ferry, port, [&] { return fs::exists(dir_ / "verify.json"); }, 50ms);
  for (const auto& body : bodies) {
    if (value_of(body, R"(ferry_job_phase{phase="running"})") == 1) mid = body;
  }
  ASSERT_FALSE(mid.empty()) << "no scrape while the verify ran";
  EXPECT_EQ(promtool_problems(mid, dir_.path()), "") << mid;
  ASSERT_TRUE(fs::exists(dir_ / "verify.json")) << ferry.err_so_far();
  std::this_thread::sleep_for(200ms);
  const std::string last = http_get(port, "/metrics").body;
  EXPECT_EQ(promtool_problems(last, dir_.path()), "") << last;
  EXPECT_EQ(value_of(last, R"(ferry_job_phase{phase="incomplete"})"), 1);
  EXPECT_EQ(value_of(last, R"(ferry_verify_keys_total{kind="missing"})"), 3);
  EXPECT_EQ(value_of(last, R"(ferry_verify_keys_total{kind="extra"})"), 1);
  EXPECT_EQ(value_of(last, R"(ferry_verify_keys_total{kind="equal"})"), 30'000 - 3);
  EXPECT_EQ(value_of(last, R"(ferry_verify_keys_scanned_total{side="source"})"), 30'000);
  EXPECT_EQ(value_of(last, "ferry_verify_keys_estimated"), 30'000);
  // Differences are not a failure of the job: /healthz stays ok.
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  const auto report = read_json(dir_ / "verify.json");
  EXPECT_EQ(report.at("totals").at("missing"), 3) << report.dump();
  ferry.signal(SIGTERM);
  EXPECT_EQ(ferry.wait(20s).exit_code, 1);
}

TEST_F(metrics_copy_test, a_taken_port_stops_the_job_before_any_key_moves) {
  redis_server source;
  redis_server target;
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_strings(source_admin, 100, 10, 44);
  port_holder taken;
  const ferry_result result =
      run_ferry({"copy", "--source", source.url(), "--target", target.url(), "--progress", "never",
                 "--metrics", fmt::format("127.0.0.1:{}", taken.port())});
  EXPECT_EQ(result.exit_code, 2) << result.output();
  EXPECT_NE(result.err.find(fmt::format("127.0.0.1:{}", taken.port())), std::string::npos)
      << result.err;
  EXPECT_EQ(target_admin.checked({"DBSIZE"}).integer, 0);
  const ferry_result wrong = run_ferry({"copy", "--source", source.url(), "--target", target.url(),
                                        "--metrics", "example.com:9121"});
  EXPECT_EQ(wrong.exit_code, 64) << wrong.output();
  EXPECT_NE(wrong.err.find("--metrics"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace ferry::testing
