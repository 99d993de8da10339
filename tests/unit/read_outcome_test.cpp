// What a reader does with the source's answers for one key, as a table.

#include "engine/copy/read_outcome.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ferry::engine {
namespace {

using protocol::errc;
using protocol::reply;
using protocol::reply_kind;

reply payload() { return {reply_kind::string, 0, protocol::bytes::copy_of("\x00\x01x"), {}}; }
reply nil() { return {}; }
reply integer(std::int64_t n) { return {reply_kind::integer, n, {}, {}}; }
reply error(std::string_view text) {
  return {reply_kind::error, 0, protocol::bytes::copy_of(text), {}};
}

constexpr std::int64_t now = 1'800'000'000'000;

struct row {
  const char* what;
  reply dump;
  reply expiry;
  bool absolute;
  read_action action;
  std::int64_t expire_at = 0;
  errc error = errc::server_error;
};

TEST(judge_read, decides_every_kind_of_answer) {
  const row rows[] = {
      {"no expiry", payload(), integer(-1), true, read_action::value, 0},
      {"absolute expiry", payload(), integer(now + 5000), true, read_action::value, now + 5000},
      {"relative expiry (PTTL)", payload(), integer(5000), false, read_action::value, now + 5000},
      {"deleted since SCAN", nil(), integer(-2), true, read_action::vanished},
      {"nil DUMP, expiry still there", nil(), integer(-1), true, read_action::vanished},
      {"expired between DUMP and PEXPIRETIME", payload(), integer(-2), true, read_action::vanished},
      {"expires at the read instant", payload(), integer(now), true, read_action::vanished},
      {"expired in flight (PTTL 0)", payload(), integer(0), false, read_action::vanished},
      {"MOVED", error("MOVED 3999 127.0.0.1:7001"), integer(-1), true, read_action::redirect, 0,
       errc::moved},
      {"ASK on the expiry", payload(), error("ASK 3999 127.0.0.1:7001"), true,
       read_action::redirect, 0, errc::ask},
      {"TRYAGAIN", error("TRYAGAIN Multiple keys request during rehashing of slot"), integer(-1),
       true, read_action::retry, 0, errc::tryagain},
      {"LOADING", error("LOADING Redis is loading the dataset in memory"), error("LOADING x"), true,
       read_action::retry, 0, errc::loading},
      {"a key over the bulk limit", error("ERR Protocol error: invalid bulk length"), integer(-1),
       true, read_action::fail_key, 0, errc::key_too_large},
      {"DUMP refused by ACL",
       error("NOPERM this user has no permissions to run the 'dump' "
             "command"),
       integer(-1), true, read_action::fatal, 0, errc::no_permission},
      {"PEXPIRETIME unknown", payload(), error("ERR unknown command 'PEXPIRETIME'"), true,
       read_action::fatal, 0, errc::unknown_command},
  };
  for (const row& r : rows) {
    const read_outcome out = judge_read(r.dump, r.expiry, r.absolute, now);
    EXPECT_EQ(out.action, r.action) << r.what;
    if (r.action == read_action::value) {
      EXPECT_EQ(out.expire_at_ms, r.expire_at) << r.what;
    }
    if (r.action != read_action::value && r.action != read_action::vanished) {
      EXPECT_EQ(out.error, r.error) << r.what;
      EXPECT_FALSE(out.reply_text.empty()) << r.what;
    }
  }
}

TEST(judge_read, a_redirect_names_its_node_and_the_first_error_decides) {
  const reply moved = error("MOVED 12000 10.0.0.7:7003");
  const reply tryagain = error("TRYAGAIN later");
  auto out = judge_read(moved, tryagain, true, now);
  ASSERT_EQ(out.action, read_action::redirect);
  ASSERT_TRUE(out.to.has_value());
  EXPECT_EQ(out.to->host, "10.0.0.7");
  EXPECT_EQ(out.to->port, 7003);
  EXPECT_FALSE(out.to->ask);
  out = judge_read(error("MOVED garbage"), integer(-1), true, now);
  EXPECT_EQ(out.action, read_action::redirect);
  EXPECT_FALSE(out.to.has_value());  // read again where it was
}

TEST(judge_get, strings_by_value_and_everything_else_by_dump) {
  const reply value{reply_kind::string, 0, protocol::bytes::copy_of("hello"), {}};
  const row rows[] = {
      {"a string, no expiry", value, integer(-1), true, read_action::value, 0},
      {"a string expiring later", value, integer(now + 60'000), true, read_action::value,
       now + 60'000},
      {"a string expiring later (PTTL)", value, integer(60'000), false, read_action::value,
       now + 60'000},
      {"a hash: WRONGTYPE",
       error("WRONGTYPE Operation against a key holding the wrong kind of "
             "value"),
       integer(-1), true, read_action::dump},
      {"WRONGTYPE decides over an expiry error", error("WRONGTYPE Operation"),
       error("ERR unknown command 'PEXPIRETIME'"), true, read_action::dump},
      {"a string close to its expiry: RESTORE ABSTTL handles it", value,
       integer(now + near_expiry_ms - 1), true, read_action::dump},
      {"a string just far enough from its expiry", value, integer(now + near_expiry_ms), true,
       read_action::value, now + near_expiry_ms},
      {"deleted since SCAN", nil(), integer(-2), true, read_action::vanished},
      {"expired at the read", value, integer(now), true, read_action::vanished},
      {"MOVED", error("MOVED 3999 127.0.0.1:7001"), integer(-1), true, read_action::redirect, 0,
       errc::moved},
      {"GET refused by ACL", error("NOPERM this user has no permissions to run the 'get' command"),
       integer(-1), true, read_action::fatal, 0, errc::no_permission},
  };
  for (const row& r : rows) {
    const read_outcome out = judge_get(r.dump, r.expiry, r.absolute, now);
    EXPECT_EQ(out.action, r.action) << r.what;
    if (r.action == read_action::value) {
      EXPECT_EQ(out.expire_at_ms, r.expire_at) << r.what;
    }
    if (r.action != read_action::value && r.action != read_action::vanished &&
        r.action != read_action::dump) {
      EXPECT_EQ(out.error, r.error) << r.what;
      EXPECT_FALSE(out.on_expiry) << r.what;
    }
  }
}

}  // namespace
}  // namespace ferry::engine
