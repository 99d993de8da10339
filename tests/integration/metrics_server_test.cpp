// The metrics endpoint over real sockets: ferry's families scraped with a plain HTTP client and
// checked by `promtool check metrics`; /healthz; what is not served; a taken port; a client
// that says nothing; stopping.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "engine/metrics/http_server.hpp"
#include "engine/metrics/job_metrics.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
namespace metrics = engine::metrics;

// A job's worth of values: owned series and collected ones, in every family type.
struct job_under_test {
  job_under_test() : m(registry, "copy", "0.1.0") {
    m.set_phase(metrics::job_phase::running);
    for (const char* shard : {"127.0.0.1:7001", "127.0.0.1:7002"}) {
      m.read_batch_duration.with({shard}).observe(0.004);
      m.write_batch_duration.with({shard}).observe(0.02);
      m.retries.with({shard, "moved"}).inc(2);
      m.reconnects.with({shard, "target"}).inc();
    }
    m.sync_lag.with({"127.0.0.1:7001"}).observe(0.08);
    m.set_sync_phase("127.0.0.1:7001", metrics::sync_phase::streaming);
    m.token_expiry.with({"target"}).set(1764583200);
    reading = registry.add_collector([this](metrics::scrape& s) {
      s.add(m.keys_copied, {"127.0.0.1:7001"}, copied);
      s.add(m.keys_copied, {"127.0.0.1:7002"}, copied / 2);
      s.add(m.payload_bytes, {"127.0.0.1:7001"}, copied * 100);
      s.add(m.inflight_bytes, {}, 1 << 20);
      s.add(m.inflight_budget, {}, 64 << 20);
      s.add(m.verify_keys, {"equal"}, copied);
      s.add(m.verify_keys, {"missing"}, 0);
    });
  }
  metrics::registry registry;
  metrics::job_metrics m;
  metrics::health health;
  double copied = 12345;
  metrics::collector_handle reading;
};

std::unique_ptr<metrics::metrics_server> start(const job_under_test& job,
                                               metrics::server_options options = {}) {
  auto server = metrics::metrics_server::start(*metrics::parse_listen_address("0"), job.registry,
                                               job.health, options);
  if (!server) throw std::runtime_error(server.error().message);
  return std::move(*server);
}

TEST(metrics_server, serves_ferrys_families_that_promtool_accepts) {
  job_under_test job;
  const auto server = start(job);
  EXPECT_TRUE(server->where().address.is_loopback());
  ASSERT_NE(server->where().port, 0);
  const http_result r = http_get(server->where().port, "/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r.body.find("ferry_keys_copied_total{shard=\"127.0.0.1:7001\"} 12345\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("ferry_job_phase{phase=\"running\"} 1\n"), std::string::npos);
  EXPECT_NE(r.body.find("ferry_read_batch_duration_seconds_bucket{shard=\"127.0.0.1:7002\","
                        "le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(r.body.find("\nprocess_resident_memory_bytes "), std::string::npos);
  EXPECT_NE(r.body.find("\nprocess_cpu_seconds_total "), std::string::npos);
  EXPECT_NE(r.body.find("\nprocess_start_time_seconds "), std::string::npos);
  // A second scrape sees the job's counter move: collectors read it at scrape time.
  job.copied = 20000;
  EXPECT_NE(http_get(server->where().port, "/metrics")
                .body.find("ferry_keys_copied_total{shard=\"127.0.0.1:7001\"} 20000\n"),
            std::string::npos);

  const auto promtool = find_tool("promtool");
  if (!promtool) {
    std::printf("promtool not installed (Debian's prometheus package): check skipped\n");
    return;
  }
  temp_dir dir("metrics");
  const auto body_file = dir / "metrics.txt";
  std::ofstream(body_file) << r.body;
  const tool_result check = run_tool({promtool->string(), "check", "metrics"}, body_file);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n--- body ---\n" << r.body;
  EXPECT_EQ(check.output, "") << "promtool's lint found problems";
}

TEST(metrics_server, healthz_says_ok_until_the_job_fails) {
  job_under_test job;
  const auto server = start(job);
  http_result r = http_get(server->where().port, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  job.health.fail("the target 127.0.0.1:7009 refused the login (auth_failed)");
  r = http_get(server->where().port, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "failed: the target 127.0.0.1:7009 refused the login (auth_failed)\n");
}

TEST(metrics_server, other_paths_and_methods_are_refused) {
  job_under_test job;
  const auto server = start(job);
  const auto port = server->where().port;
  EXPECT_EQ(http_get(port, "/").status, 404);
  EXPECT_EQ(http_get(port, "/debug/pprof").status, 404);
  EXPECT_EQ(http_request(port, "POST", "/metrics").status, 405);
  EXPECT_EQ(http_request(port, "DELETE", "/healthz").status, 405);
  const http_result head = http_request(port, "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  // A request that is not HTTP gets a 400 and the connection closed.
  EXPECT_EQ(http_request(port, "GET", "no-slash\x01").status, 400);
}

TEST(metrics_server, refuses_a_taken_port_with_a_clear_message) {
  job_under_test job;
  port_holder taken;
  const auto where = metrics::parse_listen_address(std::to_string(taken.port()));
  ASSERT_TRUE(where);
  const auto server = metrics::metrics_server::start(*where, job.registry, job.health);
  ASSERT_FALSE(server);
  const std::string& message = server.error().message;
  EXPECT_NE(message.find(fmt::format("cannot listen on 127.0.0.1:{}", taken.port())),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("another process listens on port"), std::string::npos) << message;
  EXPECT_NE(message.find("--metrics"), std::string::npos) << message;
}

// A connected socket to 127.0.0.1:port.
int connect_to(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(metrics_server, a_silent_client_is_closed_at_the_deadline_and_holds_nobody_up) {
  job_under_test job;
  const auto server = start(job, metrics::server_options{std::chrono::milliseconds(500), 16});
  const auto port = server->where().port;
  const int silent = connect_to(port);
  ASSERT_GE(silent, 0);
  // Others are served meanwhile.
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
  // The server closes the silent one after its read deadline: recv sees the end of the stream.
  const auto started = std::chrono::steady_clock::now();
  pollfd p{silent, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 20'000), 1) << "the server kept a silent connection for 20 s";
  char byte = 0;
  EXPECT_LE(::recv(silent, &byte, 1, 0), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  ::close(silent);
}

TEST(metrics_server, connections_beyond_the_limit_are_closed_at_once) {
  job_under_test job;
  const auto server = start(job, metrics::server_options{std::chrono::milliseconds(5000), 2});
  const auto port = server->where().port;
  const int first = connect_to(port);
  const int second = connect_to(port);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  // Both are held (silent, within the deadline); a third is accepted and closed at once.
  std::this_thread::sleep_for(200ms);
  EXPECT_THROW(http_get(port, "/healthz", 3s), std::runtime_error);
  ::close(first);
  ::close(second);
  // Once they are gone, requests are served again (bounded retries: the server notices the
  // closed connections on its own thread).
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    try {
      status = http_get(port, "/healthz", 2s).status;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_EQ(status, 200);
}

TEST(metrics_server, stops_listening_when_destroyed) {
  job_under_test job;
  auto server = start(job);
  const auto port = server->where().port;
  const int idle = connect_to(port);  // a connection still open when it stops
  ASSERT_GE(idle, 0);
  server.reset();
  EXPECT_LT(connect_to(port), 0) << "still listening on " << port;
  ::close(idle);
}

}  // namespace
}  // namespace ferry::testing
