// What the metrics endpoint listens on (--metrics) and what it answers, without a socket.

#include <gtest/gtest.h>

#include "engine/metrics/listen_address.hpp"
#include "engine/metrics/registry.hpp"
#include "engine/metrics/routes.hpp"

namespace ferry::engine::metrics {
namespace {

std::string parsed(std::string_view text) {
  const auto where = parse_listen_address(text);
  return where ? where->text() : "error: " + where.error().message;
}

TEST(metrics_listen_address, a_port_alone_is_loopback) {
  EXPECT_EQ(parsed("9121"), "127.0.0.1:9121");
  EXPECT_EQ(parsed("0"), "127.0.0.1:0");
  EXPECT_EQ(parsed("localhost:9121"), "127.0.0.1:9121");
}

TEST(metrics_listen_address, other_addresses_only_when_given) {
  EXPECT_EQ(parsed("0.0.0.0:9121"), "0.0.0.0:9121");
  EXPECT_EQ(parsed("10.1.2.3:80"), "10.1.2.3:80");
  EXPECT_EQ(parsed("[::1]:9121"), "[::1]:9121");
  EXPECT_EQ(parsed("[::]:65535"), "[::]:65535");
}

TEST(metrics_listen_address, refuses_what_it_cannot_bind_with_the_forms_it_takes) {
  for (const char* bad : {"", "x", "9121x", "65536", "-1", ":9121", "0.0.0.0:", "::1:9121",
                          "[::1]9121", "[::1", "example.com:9121", "1.2.3:9121"}) {
    const auto where = parse_listen_address(bad);
    ASSERT_FALSE(where) << bad;
    EXPECT_NE(where.error().message.find(std::string("--metrics '") + bad + "'"), std::string::npos)
        << where.error().message;
    EXPECT_NE(where.error().message.find("0.0.0.0:9121"), std::string::npos);
  }
}

struct routes_fixture : ::testing::Test {
  routes_fixture() {
    r.add_counter({"ferry_keys_copied_total", metric_type::counter, "", "Copied."}).get().inc(3);
  }
  registry r;
  health h;
};

TEST_F(routes_fixture, metrics_in_the_text_format) {
  const http_answer a = answer("GET", "/metrics", r, h);
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(a.body,
            "# HELP ferry_keys_copied_total Copied.\n"
            "# TYPE ferry_keys_copied_total counter\n"
            "ferry_keys_copied_total 3\n");
  EXPECT_EQ(answer("GET", "/metrics?name[]=x", r, h).body, a.body);  // query ignored
  EXPECT_EQ(answer("HEAD", "/metrics", r, h).status, 200u);
}

TEST_F(routes_fixture, healthz_is_ok_until_the_job_fails) {
  http_answer a = answer("GET", "/healthz", r, h);
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, "ok\n");
  std::optional<std::string> job_failure;
  h.watch([&] { return job_failure; });
  EXPECT_EQ(answer("GET", "/healthz", r, h).status, 200u);
  job_failure = "the target 10.0.0.9:10000 is out of memory (OOM)";
  a = answer("GET", "/healthz", r, h);
  EXPECT_EQ(a.status, 503u);
  EXPECT_EQ(a.body, "failed: the target 10.0.0.9:10000 is out of memory (OOM)\n");
  h.fail("first reason");
  h.fail("second reason");
  EXPECT_EQ(answer("GET", "/healthz", r, h).body, "failed: first reason\n");
}

TEST_F(routes_fixture, anything_else_is_not_served) {
  EXPECT_EQ(answer("GET", "/", r, h).status, 404u);
  EXPECT_EQ(answer("GET", "/metrics/", r, h).status, 404u);
  EXPECT_EQ(answer("GET", "/../etc/passwd", r, h).status, 404u);
  const http_answer post = answer("POST", "/metrics", r, h);
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET, HEAD");
}

TEST_F(routes_fixture, a_collector_bug_is_a_500_not_a_crash) {
  auto& f = r.add_gauge({"ferry_g", metric_type::gauge, "shard", "G."});
  collector_handle bad = r.add_collector([&](scrape& s) { s.add(f, {}, 1); });  // no shard
  const http_answer a = answer("GET", "/metrics", r, h);
  EXPECT_EQ(a.status, 500u);
  EXPECT_NE(a.body.find("ferry_g"), std::string::npos) << a.body;
}

}  // namespace
}  // namespace ferry::engine::metrics
