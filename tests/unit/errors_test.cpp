// The error taxonomy. Reply texts are exactly what redis-server 7.0.15 sent when provoked
// (recorded once over raw RESP; marked "7.0 binary" where the text was taken from the server's
// own string table because the state is hard to provoke, and "older" for Redis 5/6 texts).

#include "protocol/wire/errors.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::protocol {
namespace {

using namespace std::string_view_literals;
using boost::system::error_code;

// Every value of errc; they are consecutive from 1, and server_error is the last.
std::vector<errc> all_errcs() {
  std::vector<errc> all;
  for (int v = 1; v <= static_cast<int>(errc::server_error); ++v) {
    all.push_back(static_cast<errc>(v));
  }
  return all;
}

TEST(ferry_category, has_a_name_and_a_distinct_message_per_value) {
  EXPECT_STREQ(ferry_category().name(), "ferry");
  std::set<std::string> messages;
  for (const auto e : all_errcs()) {
    const auto msg = ferry_category().message(static_cast<int>(e));
    EXPECT_FALSE(msg.empty());
    EXPECT_NE(msg, "unknown ferry error") << static_cast<int>(e);
    messages.insert(msg);
  }
  EXPECT_EQ(messages.size(), all_errcs().size());
  EXPECT_EQ(ferry_category().message(0), "unknown ferry error");
  EXPECT_EQ(ferry_category().message(9999), "unknown ferry error");
}

TEST(ferry_category, error_codes_convert_and_compare) {
  const error_code ec = errc::oom;  // implicit, through is_error_code_enum
  EXPECT_EQ(ec, make_error_code(errc::oom));
  EXPECT_EQ(&ec.category(), &ferry_category());
  EXPECT_EQ(ec.value(), static_cast<int>(errc::oom));
  EXPECT_TRUE(ec);
  EXPECT_NE(ec, make_error_code(errc::timeout));
  EXPECT_EQ(ec.message(), ferry_category().message(static_cast<int>(errc::oom)));
  // errc::timeout is 1; it must not pass for the generic errno 1 (EPERM) or asio's codes.
  EXPECT_NE(make_error_code(errc::timeout),
            boost::system::errc::make_error_code(boost::system::errc::operation_not_permitted));
  EXPECT_NE(make_error_code(errc::timeout), error_code(boost::beast::error::timeout));
}

struct reply_case {
  std::string_view text;
  errc expected;
};

constexpr reply_case recorded_replies[] = {
    {"MOVED 12182 127.0.0.1:17312", errc::moved},
    {"ASK 5061 127.0.0.1:17312", errc::ask},
    {"MOVED 12182 ::1:17317", errc::moved},
    {"MOVED 12182 :17312", errc::moved},
    {"TRYAGAIN Multiple keys request during rehashing of slot", errc::tryagain},
    {"LOADING Redis is loading the dataset in memory", errc::loading},  // 7.0 binary
    {"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
     errc::busy},
    {"BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.",
     errc::busy},                                                  // 7.0 binary
    {"BUSY Redis is busy running a module command.", errc::busy},  // 7.0 binary
    {"CLUSTERDOWN Hash slot not served", errc::clusterdown},
    {"CLUSTERDOWN The cluster is down", errc::clusterdown},
    {"CLUSTERDOWN The cluster is down and only accepts read commands", errc::clusterdown},
    {"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
     errc::masterdown},
    {"BUSYKEY Target key name already exists.", errc::busykey},
    {"WRONGTYPE Operation against a key holding the wrong kind of value", errc::wrong_type},
    {"WRONGPASS invalid username-password pair or user is disabled.", errc::auth_failed},
    {"NOAUTH Authentication required.", errc::auth_failed},
    {"NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
     "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
     "protocol version at the same time",
     errc::auth_failed},
    {"ERR AUTH <password> called without any password configured for the default user. Are you "
     "sure your configuration is correct?",
     errc::auth_failed},
    {"ERR invalid password", errc::auth_failed},                          // older
    {"ERR Client sent AUTH, but no password is set", errc::auth_failed},  // older
    {"ERR Protocol error: unauthenticated multibulk length", errc::auth_failed},
    {"ERR Protocol error: unauthenticated bulk length", errc::auth_failed},
    {"NOPERM this user has no permissions to run the 'dump' command", errc::no_permission},
    {"NOPERM this user has no permissions to access one of the keys used as arguments",
     errc::no_permission},
    {"OOM command not allowed when used memory > 'maxmemory'.", errc::oom},
    {"READONLY You can't write against a read only replica.", errc::readonly},
    {"ERR DUMP payload version or checksum are wrong", errc::bad_payload},
    {"ERR Bad data format", errc::bad_payload},
    {"ERR unknown command 'FOO', with args beginning with: 'bar' ", errc::unknown_command},
    {"ERR unknown command 'FOO', with args beginning with: ", errc::unknown_command},
    {"ERR unknown command `DUMP`, with args beginning with: `k`, ", errc::unknown_command},  // 6.x
    {"ERR unknown subcommand 'FOOBAR'. Try CONFIG HELP.", errc::unknown_command},
    {"ERR string exceeds maximum allowed size (proto-max-bulk-len)", errc::key_too_large},
    {"ERR Protocol error: invalid bulk length", errc::key_too_large},
    {"ERR Protocol error: invalid multibulk length", errc::key_too_large},
    {"ERR Protocol error: expected '$', got 'x'", errc::protocol_violation},
    {"ERR Protocol error: too big mbulk count string", errc::protocol_violation},
    {"ERR Protocol error: unbalanced quotes in request", errc::protocol_violation},
    {"ERR This instance has cluster support disabled", errc::server_error},
    {"ERR wrong number of arguments for 'get' command", errc::server_error},
    {"ERR max number of clients reached", errc::server_error},  // 7.0 binary
    {"CROSSSLOT Keys in request don't hash to the same slot", errc::server_error},
    {"BUSYGROUP Consumer Group name already exists", errc::server_error},   // not BUSY
    {"NOREPLICAS Not enough good replicas to write.", errc::server_error},  // 7.0 binary
    {"EXECABORT Transaction discarded because of previous errors.", errc::server_error},
    {"NOSCRIPT No matching script. Please use EVAL.", errc::server_error},
    {"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to "
     "disk.",
     errc::server_error},
};

TEST(classify_error_reply, recorded_redis_replies) {
  for (const auto& [text, expected] : recorded_replies) {
    EXPECT_EQ(classify_error_reply(text), expected) << text;
  }
}

TEST(classify_error_reply, tolerates_a_leading_dash_and_bare_codes) {
  EXPECT_EQ(classify_error_reply("-WRONGTYPE Operation against a key"), errc::wrong_type);
  EXPECT_EQ(classify_error_reply("-ERR Bad data format"), errc::bad_payload);
  EXPECT_EQ(classify_error_reply("LOADING"), errc::loading);
  EXPECT_EQ(classify_error_reply("BUSYKEY"), errc::busykey);
  EXPECT_EQ(classify_error_reply("ERR"), errc::server_error);
  EXPECT_EQ(classify_error_reply(""), errc::server_error);
  EXPECT_EQ(classify_error_reply("-"), errc::server_error);
}

TEST(classify_error_reply, matches_whole_first_word_only) {
  EXPECT_EQ(classify_error_reply("BUSYX whatever"), errc::server_error);
  EXPECT_EQ(classify_error_reply("MOVEDX 1 h:1"), errc::server_error);
  EXPECT_EQ(classify_error_reply("moved 1 h:1"), errc::server_error);  // codes are upper case
  EXPECT_EQ(classify_error_reply("ERRX Bad data format"), errc::server_error);
  EXPECT_EQ(classify_error_reply("ERR something about unknown command"), errc::server_error);
}

TEST(parse_redirect, recorded_forms) {
  EXPECT_EQ(parse_redirect("MOVED 12182 127.0.0.1:17312"),
            (redirect{false, 12182, "127.0.0.1", 17312}));
  EXPECT_EQ(parse_redirect("ASK 5061 127.0.0.1:17312"), (redirect{true, 5061, "127.0.0.1", 17312}));
  // cluster-preferred-endpoint-type unknown-endpoint: same host as the connection.
  EXPECT_EQ(parse_redirect("MOVED 12182 :17312"), (redirect{false, 12182, "", 17312}));
  EXPECT_EQ(parse_redirect("ASK 5061 :17312"), (redirect{true, 5061, "", 17312}));
  // cluster-preferred-endpoint-type hostname.
  EXPECT_EQ(parse_redirect("MOVED 12182 node-b.example:17312"),
            (redirect{false, 12182, "node-b.example", 17312}));
  // Redis writes IPv6 without brackets.
  EXPECT_EQ(parse_redirect("MOVED 12182 ::1:17317"), (redirect{false, 12182, "::1", 17317}));
  EXPECT_EQ(parse_redirect("ASK 0 2001:db8::5:7000"), (redirect{true, 0, "2001:db8::5", 7000}));
}

TEST(parse_redirect, bracketed_ipv6_and_leading_dash) {
  EXPECT_EQ(parse_redirect("ASK 3999 [::1]:7000"), (redirect{true, 3999, "::1", 7000}));
  EXPECT_EQ(parse_redirect("-MOVED 16383 [fe80::1]:1"), (redirect{false, 16383, "fe80::1", 1}));
}

TEST(parse_redirect, refuses_anything_else) {
  for (const auto text : {""sv,
                          "MOVED"sv,
                          "MOVED "sv,
                          "MOVED 1"sv,
                          "MOVED 1 "sv,
                          "MOVED 1 h"sv,
                          "MOVED 1 h:"sv,
                          "MOVED 16384 h:1"sv,
                          "MOVED -1 h:1"sv,
                          "MOVED x h:1"sv,
                          "MOVED 1 h:0"sv,
                          "MOVED 1 h:65536"sv,
                          "MOVED 1 h:x"sv,
                          "MOVED 1 h:1 extra"sv,
                          "MOVED  1 h:1"sv,
                          "MOVED 1  h:1"sv,
                          "ASK 1 [::1]"sv,
                          "ASK 1 [::1:7000"sv,
                          "ASK 1 [::1]7000"sv,
                          "TRYAGAIN Multiple keys request during rehashing of slot"sv,
                          "ERR MOVED 1 h:1"sv,
                          "moved 1 h:1"sv,
                          "MOVED 99999999999999999999 h:1"sv}) {
    EXPECT_FALSE(parse_redirect(text).has_value()) << text;
  }
}

TEST(disposition_of, ferry_codes_follow_their_group) {
  for (const auto e :
       {errc::timeout, errc::connection_closed, errc::connect_failed, errc::moved, errc::ask,
        errc::tryagain, errc::loading, errc::busy, errc::clusterdown, errc::masterdown}) {
    EXPECT_EQ(disposition_of(e), disposition::retry) << static_cast<int>(e);
  }
  for (const auto e : {errc::busykey, errc::bad_payload, errc::key_too_large, errc::wrong_type}) {
    EXPECT_EQ(disposition_of(e), disposition::fail_key) << static_cast<int>(e);
  }
  for (const auto e : {errc::auth_failed, errc::no_permission, errc::tls_failed, errc::oom,
                       errc::protocol_violation, errc::reply_too_large, errc::readonly,
                       errc::unknown_command, errc::resolve_failed, errc::server_error}) {
    EXPECT_EQ(disposition_of(e), disposition::fatal) << static_cast<int>(e);
  }
  EXPECT_EQ(disposition_of(error_code(999, ferry_category())), disposition::fatal);
}

TEST(disposition_of, classified_replies_end_where_the_design_says) {
  EXPECT_EQ(disposition_of(classify_error_reply("MOVED 1 h:1")), disposition::retry);
  EXPECT_EQ(disposition_of(classify_error_reply("LOADING Redis is loading the dataset in memory")),
            disposition::retry);
  EXPECT_EQ(disposition_of(classify_error_reply("ERR DUMP payload version or checksum are wrong")),
            disposition::fail_key);
  EXPECT_EQ(disposition_of(classify_error_reply("OOM command not allowed when used memory > "
                                                "'maxmemory'.")),
            disposition::fatal);
  EXPECT_EQ(disposition_of(classify_error_reply("WRONGPASS invalid username-password pair or "
                                                "user is disabled.")),
            disposition::fatal);
}

TEST(disposition_of, asio_and_system_errors) {
  namespace ae = boost::asio::error;
  for (const error_code ec :
       {error_code(ae::eof), error_code(ae::connection_reset), error_code(ae::connection_aborted),
        error_code(ae::broken_pipe), error_code(ae::connection_refused), error_code(ae::timed_out),
        error_code(ae::host_unreachable), error_code(ae::network_unreachable),
        error_code(ae::network_down), error_code(ae::network_reset), error_code(ae::not_connected),
        error_code(ae::try_again), error_code(ae::no_buffer_space),
        error_code(ae::host_not_found_try_again)}) {
    EXPECT_EQ(disposition_of(ec), disposition::retry) << ec.to_string();
  }
  for (const error_code ec :
       {error_code(ae::operation_aborted), error_code(ae::host_not_found), error_code(ae::no_data),
        error_code(ae::no_recovery), error_code(ae::service_not_found),
        error_code(ae::access_denied), error_code(ae::no_descriptors), error_code(ae::already_open),
        error_code(ae::not_found), error_code(ae::bad_descriptor), error_code(ae::message_size)}) {
    EXPECT_EQ(disposition_of(ec), disposition::fatal) << ec.to_string();
  }
  // The same errno through the generic category.
  EXPECT_EQ(
      disposition_of(boost::system::errc::make_error_code(boost::system::errc::connection_reset)),
      disposition::retry);
  EXPECT_EQ(
      disposition_of(boost::system::errc::make_error_code(boost::system::errc::permission_denied)),
      disposition::fatal);
}

TEST(disposition_of, beast_timeout_retries) {
  EXPECT_EQ(disposition_of(boost::beast::error::timeout), disposition::retry);
}

// Stand-ins for Asio's SSL categories: linking the real ones would pull OpenSSL into these tests.
// disposition_of recognises them by name, which is what this checks.
// (The pragma: see ferry_error_category in errors.cpp.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class named_category final : public boost::system::error_category {
 public:
  explicit named_category(const char* name) : name_(name) {}
  const char* name() const noexcept override { return name_; }
  std::string message(int) const override { return "stand-in"; }

 private:
  const char* name_;
};
#pragma GCC diagnostic pop

TEST(disposition_of, tls_errors) {
  static const named_category ssl("asio.ssl");
  static const named_category ssl_stream("asio.ssl.stream");
  // boost::asio::ssl::error::stream_truncated: the peer closed without close_notify.
  EXPECT_EQ(disposition_of(error_code(1, ssl_stream)), disposition::retry);
  // unspecified_system_error, unexpected_result.
  EXPECT_EQ(disposition_of(error_code(2, ssl_stream)), disposition::fatal);
  EXPECT_EQ(disposition_of(error_code(3, ssl_stream)), disposition::fatal);
  // An OpenSSL error, e.g. certificate verify failed (ERR_PACK(ERR_LIB_SSL, 0, 134)).
  EXPECT_EQ(disposition_of(error_code((20 << 23) | 134, ssl)), disposition::fatal);
}

TEST(disposition_of, unknown_and_success) {
  static const named_category other("someone.else");
  EXPECT_EQ(disposition_of(error_code(104, other)), disposition::fatal);
  EXPECT_EQ(disposition_of(error_code{}), disposition::fatal);
}

}  // namespace
}  // namespace ferry::protocol

namespace ferry::protocol {
namespace {

TEST(refusal_advice, names_the_acl_rule_the_replica_or_the_renamed_command) {
  EXPECT_EQ(refusal_advice(errc::no_permission,
                           "NOPERM User ferry has no permissions to run the 'dump' command"),
            "; ferry's ACL user may not run dump: add +dump to its rules (the README lists the "
            "minimal ACL rules per command)");
  EXPECT_NE(refusal_advice(errc::no_permission,
                           "NOPERM this user has no permissions to run "
                           "the 'restore' command or its subcommand")
                .find("+restore"),
            std::string::npos);
  EXPECT_NE(refusal_advice(errc::readonly, "READONLY You can't write against a read only replica.")
                .find("read-only replica"),
            std::string::npos);
  EXPECT_NE(refusal_advice(errc::unknown_command,
                           "ERR unknown command 'PEXPIRETIME', with args beginning with: 'k' ")
                .find("pexpiretime: it was renamed or disabled"),
            std::string::npos);
  EXPECT_EQ(refusal_advice(errc::oom, "OOM command not allowed"), "");
}

}  // namespace
}  // namespace ferry::protocol
