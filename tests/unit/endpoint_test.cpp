#include "protocol/wire/endpoint.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <string_view>

namespace ferry::protocol {
namespace {

using namespace std::string_view_literals;

// Distinctive enough that finding it (or a long piece of it) in a message can only be a leak.
constexpr std::string_view secret = "Zq9-ferrySECRET";

endpoint parse_ok(std::string_view url) {
  auto r = parse_endpoint(url);
  EXPECT_TRUE(r.has_value()) << "refused \"" << url << "\": " << (r ? "" : r.error());
  return r ? *r : endpoint{};
}

std::string parse_error(std::string_view url) {
  auto r = parse_endpoint(url);
  EXPECT_TRUE(r.has_error()) << "accepted \"" << url << "\"";
  return r ? std::string{} : r.error();
}

// True when `text` holds any 6-byte piece of `secret`.
bool leaks_secret(std::string_view text) {
  for (std::size_t i = 0; i + 6 <= secret.size(); ++i) {
    if (text.find(secret.substr(i, 6)) != std::string_view::npos) return true;
  }
  return false;
}

TEST(parse_endpoint, plain_host_takes_defaults) {
  const auto e = parse_ok("redis://localhost");
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.user, "");
  EXPECT_EQ(e.password, "");
  EXPECT_EQ(e.db, 0);
}

TEST(parse_endpoint, full_url) {
  const auto e = parse_ok("rediss://alice:s3cret@cache.example.net:10000/3");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.user, "alice");
  EXPECT_EQ(e.password, "s3cret");
  EXPECT_EQ(e.host, "cache.example.net");
  EXPECT_EQ(e.port, 10000);
  EXPECT_EQ(e.db, 3);
}

TEST(parse_endpoint, scheme_is_case_insensitive) {
  EXPECT_TRUE(parse_ok("REDISS://h").tls);
  EXPECT_FALSE(parse_ok("Redis://h").tls);
}

TEST(parse_endpoint, user_info_forms) {
  auto e = parse_ok("redis://:pw@h");
  EXPECT_EQ(e.user, "");
  EXPECT_EQ(e.password, "pw");
  e = parse_ok("redis://bob@h");
  EXPECT_EQ(e.user, "bob");
  EXPECT_EQ(e.password, "");
  e = parse_ok("redis://bob:@h");
  EXPECT_EQ(e.user, "bob");
  EXPECT_EQ(e.password, "");
  e = parse_ok("redis://@h");
  EXPECT_EQ(e.user, "");
  EXPECT_EQ(e.host, "h");
}

TEST(parse_endpoint, password_may_hold_colon_and_at_unescaped) {
  const auto e = parse_ok("redis://u:a:b@c@h:7000");
  EXPECT_EQ(e.user, "u");
  EXPECT_EQ(e.password, "a:b@c");
  EXPECT_EQ(e.host, "h");
  EXPECT_EQ(e.port, 7000);
}

TEST(parse_endpoint, percent_decoding) {
  const auto e = parse_ok("redis://us%65r%3A1:p%40ss%2F%3f%23%25%00x@my%2Dhost:6380");
  EXPECT_EQ(e.user, "user:1");
  EXPECT_EQ(e.password, "p@ss/?#%\0x"sv);
  EXPECT_EQ(e.host, "my-host");
}

TEST(parse_endpoint, entra_token_as_password) {
  // Object id as user and a JWT-shaped token as password: '.', '-' and '_' need no escaping.
  const auto e = parse_ok(
      "rediss://0b2e1c1a-9f3c-4f5e-8a4e-2f6a1d3c5b7e:eyJ0eXAiOiJKV1Qi.eyJhdWQiOi-_x.sig_-x@"
      "my.redis.azure.net:10000");
  EXPECT_EQ(e.user, "0b2e1c1a-9f3c-4f5e-8a4e-2f6a1d3c5b7e");
  EXPECT_EQ(e.password, "eyJ0eXAiOiJKV1Qi.eyJhdWQiOi-_x.sig_-x");
}

TEST(parse_endpoint, ipv4_and_ipv6) {
  auto e = parse_ok("redis://10.0.0.5:7001");
  EXPECT_EQ(e.host, "10.0.0.5");
  EXPECT_EQ(e.port, 7001);
  e = parse_ok("redis://[::1]:6380");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 6380);
  e = parse_ok("rediss://u:p@[2001:db8::7]/2");
  EXPECT_EQ(e.host, "2001:db8::7");
  EXPECT_EQ(e.port, 6379);
  EXPECT_EQ(e.db, 2);
  e = parse_ok("redis://[::ffff:192.0.2.1]:1");
  EXPECT_EQ(e.host, "::ffff:192.0.2.1");
  e = parse_ok("redis://[fe80::1%25eth0]:6379");
  EXPECT_EQ(e.host, "fe80::1%eth0");
}

TEST(parse_endpoint, port_bounds) {
  EXPECT_EQ(parse_ok("redis://h:1").port, 1);
  EXPECT_EQ(parse_ok("redis://h:65535").port, 65535);
  EXPECT_EQ(parse_ok("redis://h:06379").port, 6379);
  for (const auto url : {"redis://h:0"sv, "redis://h:65536"sv, "redis://h:99999999999999999999"sv,
                         "redis://h:-1"sv, "redis://h:+80"sv, "redis://h:80x"sv, "redis://h:abc"sv,
                         "redis://h: 80"sv, "redis://[::1]:0"sv, "redis://[::1]:http"sv}) {
    EXPECT_NE(parse_error(url).find("port"), std::string::npos) << url;
  }
  EXPECT_NE(parse_error("redis://h:").find("port"), std::string::npos);
}

TEST(parse_endpoint, database) {
  EXPECT_EQ(parse_ok("redis://h/").db, 0);
  EXPECT_EQ(parse_ok("redis://h/0").db, 0);
  EXPECT_EQ(parse_ok("redis://h:1/15").db, 15);
  EXPECT_EQ(parse_ok("redis://h/2147483647").db, 2147483647);
  for (const auto url :
       {"redis://h/x"sv, "redis://h/-1"sv, "redis://h/+1"sv, "redis://h/1/2"sv, "redis://h/1/"sv,
        "redis://h//"sv, "redis://h/2147483648"sv, "redis://h/1x"sv, "redis://h/ 1"sv}) {
    EXPECT_NE(parse_error(url).find("database"), std::string::npos) << url;
  }
}

TEST(parse_endpoint, whitespace_around_the_url_is_ignored) {
  const auto e = parse_ok("  redis://h:6380/1\r\n");
  EXPECT_EQ(e.host, "h");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 1);
}

TEST(parse_endpoint, refuses_other_schemes_naming_them) {
  auto msg = parse_error("http://h:6379");
  EXPECT_NE(msg.find("\"http://\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("redis://"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rediss://"), std::string::npos) << msg;
  msg = parse_error("valkey://h");
  EXPECT_NE(msg.find("\"valkey://\""), std::string::npos) << msg;
  msg = parse_error("unix:///tmp/redis.sock");
  EXPECT_NE(msg.find("\"unix://\""), std::string::npos) << msg;
  msg = parse_error("h:6379");
  EXPECT_NE(msg.find("no scheme"), std::string::npos) << msg;
  msg = parse_error("redis:/h");
  EXPECT_NE(msg.find("no scheme"), std::string::npos) << msg;
  msg = parse_error("://h");
  EXPECT_NE(msg.find("rediss://"), std::string::npos) << msg;
}

TEST(parse_endpoint, refuses_query_and_fragment) {
  EXPECT_NE(parse_error("redis://h:6379?timeout=5").find("query"), std::string::npos);
  EXPECT_NE(parse_error("redis://h/0?ssl_cert_reqs=none").find("query"), std::string::npos);
  EXPECT_NE(parse_error("redis://h?").find("query"), std::string::npos);
  EXPECT_NE(parse_error("redis://h#x").find("fragment"), std::string::npos);
}

TEST(parse_endpoint, refuses_bad_hosts) {
  EXPECT_NE(parse_error("redis://").find("host is empty"), std::string::npos);
  EXPECT_NE(parse_error("redis://:6379").find("host is empty"), std::string::npos);
  EXPECT_NE(parse_error("redis://u:p@").find("host is empty"), std::string::npos);
  EXPECT_NE(parse_error("redis://u:p@/0").find("host is empty"), std::string::npos);
  EXPECT_NE(parse_error("redis://%20").find("not allowed"), std::string::npos);
  EXPECT_NE(parse_error("redis://ho st").find("not allowed"), std::string::npos);
  EXPECT_NE(parse_error("redis://h%2Fx").find("not allowed"), std::string::npos);
  EXPECT_NE(parse_error("redis://::1").find("brackets"), std::string::npos);
  EXPECT_NE(parse_error("redis://::1:6379").find("brackets"), std::string::npos);
  EXPECT_NE(parse_error("redis://[::1").find("']'"), std::string::npos);
  EXPECT_NE(parse_error("redis://[::1]6379").find("]:port"), std::string::npos);
  EXPECT_NE(parse_error("redis://[]:6379").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("redis://[localhost]").find("IPv6"), std::string::npos);
  EXPECT_NE(parse_error("redis://[fe80::1%25]").find("zone"), std::string::npos);
  EXPECT_NE(parse_error("redis://256.1.1.1").find("IPv4"), std::string::npos);
  EXPECT_NE(parse_error("redis://1.2.3").find("IPv4"), std::string::npos);
  EXPECT_NE(parse_error("redis://1..2.3").find("IPv4"), std::string::npos);
  EXPECT_NE(parse_error("redis://h%zz").find("percent"), std::string::npos);
}

TEST(parse_endpoint, bad_escapes_in_user_and_password) {
  EXPECT_NE(parse_error("redis://u%4:p@h").find("user name"), std::string::npos);
  EXPECT_NE(parse_error("redis://u:p%@h").find("password"), std::string::npos);
  EXPECT_NE(parse_error("redis://u:p%g0@h").find("password"), std::string::npos);
  EXPECT_NE(parse_error("redis://u:100%@h").find("%25"), std::string::npos);
}

TEST(parse_endpoint, unescaped_slash_in_password_gets_a_hint) {
  const auto msg = parse_error("redis://u:ab/cd@h:6379");
  EXPECT_NE(msg.find("percent-encoded"), std::string::npos) << msg;
  EXPECT_NE(parse_error("redis://u:ab?cd@h").find("%3F"), std::string::npos);
  EXPECT_NE(parse_error("redis://u:ab#cd@h").find("%23"), std::string::npos);
}

TEST(parse_endpoint, no_error_message_contains_the_password) {
  const std::string s(secret);
  const std::string enc = "Zq9%2Dferry%53ECRET";  // the same password, partly percent-encoded
  const std::string urls[] = {
      // Broken scheme, with the password in the user info.
      "http://u:" + s + "@h",
      "redis:/u:" + s + "@h",
      "redis//u:" + s + "@h",
      "u:" + s + "@h:6379",
      ":" + s + "@h",
      s + "@h",
      s,
      "://" + s,
      "redis:" + s + "://h",
      "u:" + s + "://h",
      "1" + s + "://h",
      s + "://h",
      "x" + s + "://h",
      // Broken port, host, database, query.
      "redis://u:" + s + "@h:abc",
      "redis://u:" + s + "@h:0",
      "redis://u:" + s + "@h:99999",
      "redis://u:" + s + "@h:",
      "redis://u:" + s + "@",
      "redis://u:" + s + "@:6379",
      "redis://u:" + s + "@::1",
      "redis://u:" + s + "@[::1",
      "redis://u:" + s + "@[::1]x",
      "redis://u:" + s + "@[zz]",
      "redis://u:" + s + "@ho st",
      "redis://u:" + s + "@999.1.1.1",
      "redis://u:" + s + "@h/x",
      "redis://u:" + s + "@h/-1",
      "redis://u:" + s + "@h?db=1",
      "redis://u:" + s + "@h#frag",
      "redis://u:" + enc + "@h:abc",
      // The password itself is malformed or cut short by a reserved character.
      "redis://u:" + s + "%@h",
      "redis://u:" + s + "%zz@h",
      "redis://u:" + s + "/x@h",
      "redis://u:x/" + s + "@h",
      "redis://u:" + s + "?x@h",
      "redis://u:" + s + "#x@h",
      "redis://u:pre/" + s + "@h:6379/0",
      // '@' forgotten: the password lands where the port or host is read.
      "redis://u:" + s,
      "redis://u:" + s + ":6379",
      "redis://" + s + ":" + s,
      "redis://:" + s,
      "redis://h:6379/" + s,
      "redis://h/" + s + "?x",
      "rediss://[" + s + "]:6379",
      "rediss://" + s + "%zz",
  };
  for (const auto& url : urls) {
    const auto r = parse_endpoint(url);
    ASSERT_TRUE(r.has_error()) << "accepted a malformed URL";
    EXPECT_FALSE(leaks_secret(r.error())) << "leaked the password: " << r.error();
  }
}

TEST(endpoint, address_brackets_ipv6) {
  EXPECT_EQ(parse_ok("redis://h:7000").address(), "h:7000");
  EXPECT_EQ(parse_ok("redis://10.1.2.3").address(), "10.1.2.3:6379");
  EXPECT_EQ(parse_ok("redis://[::1]:6380").address(), "[::1]:6380");
}

TEST(endpoint, redacted_hides_only_the_password) {
  EXPECT_EQ(parse_ok("redis://h").redacted(), "redis://h:6379");
  EXPECT_EQ(parse_ok("rediss://alice:" + std::string(secret) + "@h:10000/2").redacted(),
            "rediss://alice:***@h:10000/2");
  EXPECT_EQ(parse_ok("redis://:pw@h").redacted(), "redis://:***@h:6379");
  EXPECT_EQ(parse_ok("redis://bob@h").redacted(), "redis://bob@h:6379");
  EXPECT_EQ(parse_ok("redis://bob:@h").redacted(), "redis://bob@h:6379");
  EXPECT_EQ(parse_ok("redis://a%40b:pw@[::1]:1/0").redacted(), "redis://a%40b:***@[::1]:1");
  EXPECT_EQ(parse_ok("redis://[fe80::1%25eth0]").redacted(), "redis://[fe80::1%25eth0]:6379");
}

TEST(endpoint, redacted_parses_back_to_the_same_endpoint_without_password) {
  for (const auto url : {"rediss://us%3Aer:pw@h.example:10000/5"sv, "redis://[::1]:7000"sv,
                         "redis://x@10.0.0.1/0"sv, "redis://[fe80::1%25eth0]:1"sv}) {
    auto original = parse_ok(url);
    auto again = parse_ok(original.redacted());
    if (!original.password.empty()) {
      EXPECT_EQ(again.password, "***");
      again.password = original.password;
    }
    EXPECT_EQ(again, original) << url;
  }
}

TEST(endpoint, streaming_shows_the_redacted_form) {
  std::ostringstream out;
  out << parse_ok("redis://u:" + std::string(secret) + "@h");
  EXPECT_EQ(out.str(), "redis://u:***@h:6379");
  EXPECT_FALSE(
      leaks_secret(testing::PrintToString(parse_ok("redis://u:" + std::string(secret) + "@h"))));
}

}  // namespace
}  // namespace ferry::protocol
