// What a subscribed connection receives, fed to the RESP reader in pieces, and the subscription
// tracker stepped through connects, confirmations and breaks (protocol/wire/pubsub.hpp).

#include <gtest/gtest.h>

#include "protocol/wire/pubsub.hpp"
#include "tests/unit/resp_streams.hpp"

namespace ferry::protocol {
namespace {

using resp_streams::bulk;
using resp_streams::line;

// Appends rather than chains operator+: GCC 12's -Wrestrict misfires on such chains.
std::string array(std::initializer_list<std::string> items) {
  std::string out("*");
  out.append(std::to_string(items.size())).append("\r\n");
  for (const auto& item : items) out.append(item);
  return out;
}

std::string cat(std::initializer_list<std::string> parts) {
  std::string out;
  for (const auto& p : parts) out.append(p);
  return out;
}

TEST(parse_push, reads_every_shape_of_a_subscribed_connection_fed_byte_by_byte) {
  const std::string binary_key("k\0\r\n\xff", 5);
  std::string channel("__keyspace@0__:");
  channel.append(binary_key);
  const std::string stream = cat(
      {array({bulk("psubscribe"), bulk("__keyspace@0__:*"), line(':', "1")}),
       array({bulk("pmessage"), bulk("__keyspace@0__:*"), bulk(channel), bulk("set")}),
       array({bulk("message"), bulk("news"), bulk("hello")}), array({bulk("pong"), bulk("")}),
       array({bulk("pong"), bulk("42")}), array({bulk("subscribe"), bulk("news"), line(':', "2")}),
       array({bulk("unsubscribe"), "$-1\r\n", line(':', "0")})});
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    const auto replies = resp_streams::parse(stream, piece);
    ASSERT_EQ(replies.size(), 7u);
    auto p = parse_push(replies[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, push_kind::psubscribe);
    EXPECT_EQ(p->pattern, "__keyspace@0__:*");
    EXPECT_EQ(p->count, 1);
    p = parse_push(replies[1]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, push_kind::pmessage);
    EXPECT_EQ(p->channel, channel);
    EXPECT_EQ(p->payload, "set");
    p = parse_push(replies[2]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, push_kind::message);
    EXPECT_EQ(p->channel, "news");
    EXPECT_EQ(p->payload, "hello");
    p = parse_push(replies[3]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, push_kind::pong);
    EXPECT_EQ(p->payload, "");
    EXPECT_EQ(parse_push(replies[4])->payload, "42");
    EXPECT_EQ(parse_push(replies[5])->kind, push_kind::subscribe);
    p = parse_push(replies[6]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->kind, push_kind::unsubscribe);
    EXPECT_EQ(p->count, 0);
  }
}

TEST(parse_push, refuses_what_is_no_push) {
  const auto replies = resp_streams::parse(
      cat({line('-', "NOPERM this user has no permissions to access one of the channels"),
           array({bulk("pmessage"), bulk("only two")}), array({line(':', "1"), bulk("x")}),
           array({bulk("psubscribe"), bulk("p"), bulk("not a count")}), "*0\r\n", line('+', "OK")}),
      3);
  ASSERT_EQ(replies.size(), 6u);
  for (const auto& r : replies) EXPECT_FALSE(parse_push(r)) << r.text();
}

TEST(subscription_tracker, composes_every_subscription_after_each_connect) {
  subscription_tracker tracker;
  tracker.add_pattern("__keyspace@0__:*");
  tracker.add_pattern("__keyevent@0__:*");
  tracker.add_channel("news");
  command_buffer commands;
  tracker.compose(commands);
  EXPECT_EQ(commands.commands(), 2u);
  EXPECT_EQ(commands.flatten(),
            "*3\r\n$10\r\nPSUBSCRIBE\r\n$16\r\n__keyevent@0__:*\r\n$16\r\n__keyspace@0__:*\r\n"
            "*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n");
  EXPECT_FALSE(tracker.complete());

  push confirm;
  confirm.kind = push_kind::psubscribe;
  confirm.pattern = "__keyspace@0__:*";
  EXPECT_TRUE(tracker.on_push(confirm));
  EXPECT_FALSE(tracker.complete());
  confirm.pattern = "__keyevent@0__:*";
  tracker.on_push(confirm);
  EXPECT_FALSE(tracker.complete());
  confirm.kind = push_kind::subscribe;
  confirm.pattern = {};
  confirm.channel = "news";
  tracker.on_push(confirm);
  EXPECT_TRUE(tracker.complete());

  // A message is no confirmation; a confirmation of something not wanted changes nothing.
  push message;
  message.kind = push_kind::pmessage;
  EXPECT_FALSE(tracker.on_push(message));
  confirm.channel = "other";
  EXPECT_TRUE(tracker.on_push(confirm));
  EXPECT_TRUE(tracker.complete());

  // The connection broke: nothing is held; the next connect subscribes to everything again.
  tracker.reset();
  EXPECT_FALSE(tracker.complete());
  command_buffer again;
  tracker.compose(again);
  EXPECT_EQ(again.flatten(), commands.flatten());
  EXPECT_FALSE(tracker.complete());
}

TEST(subscription_tracker, with_nothing_wanted_composes_nothing_and_is_complete) {
  subscription_tracker tracker;
  command_buffer commands;
  tracker.compose(commands);
  EXPECT_TRUE(commands.empty());
  EXPECT_TRUE(tracker.complete());
}

}  // namespace
}  // namespace ferry::protocol
