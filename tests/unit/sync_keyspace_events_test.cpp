// Keyspace notifications as ferry sync reads them (protocol/wire/keyspace_events.hpp): the
// classes it needs, the setting it proposes, the channel and pattern, and what a message names.

#include <gtest/gtest.h>

#include "protocol/wire/keyspace_events.hpp"

namespace ferry::protocol {
namespace {

TEST(keyspace_events, lists_the_classes_a_setting_lacks) {
  EXPECT_EQ(missing_notification_flags(""), "Kg$lshzxetd");
  EXPECT_EQ(missing_notification_flags("KA"), "");
  EXPECT_EQ(missing_notification_flags("AK"), "");  // as CONFIG GET prints it
  EXPECT_EQ(missing_notification_flags("KEA"), "");
  EXPECT_EQ(missing_notification_flags("EA"), "");  // the keyevent channel serves too
  EXPECT_EQ(missing_notification_flags("Kx"), "g$lshzetd");
  EXPECT_EQ(missing_notification_flags("Kg$lshzxetd"), "");
  EXPECT_EQ(missing_notification_flags("A"), "K");
}

TEST(keyspace_events, proposes_a_setting_that_keeps_what_was_set) {
  EXPECT_EQ(notification_setting(""), "KA");
  EXPECT_EQ(notification_setting("Ex"), "ExKA");
  EXPECT_EQ(notification_setting("AK"), "AK");
  EXPECT_TRUE(missing_notification_flags(notification_setting("Em")).empty());
}

TEST(keyspace_events, reads_the_keyspace_channel_unless_only_keyevent_is_on) {
  EXPECT_EQ(channel_for("KA"), event_channel::keyspace);
  EXPECT_EQ(channel_for("KEA"), event_channel::keyspace);
  EXPECT_EQ(channel_for("EA"), event_channel::keyevent);
  EXPECT_EQ(channel_for(""), event_channel::keyspace);
  EXPECT_EQ(event_pattern(event_channel::keyspace, 0), "__keyspace@0__:*");
  EXPECT_EQ(event_pattern(event_channel::keyevent, 12), "__keyevent@12__:*");
}

TEST(keyspace_events, a_message_names_its_key_and_event_on_either_channel) {
  const std::string key("a:b\0\xff{x}", 8);
  std::string channel("__keyspace@0__:");
  channel.append(key);
  auto e = parse_keyspace_event(channel, "rename_from", 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, key);
  EXPECT_EQ(e->event, "rename_from");
  e = parse_keyspace_event("__keyevent@3__:expired", key, 3);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, key);
  EXPECT_EQ(e->event, "expired");
  // The empty key is a key.
  e = parse_keyspace_event("__keyspace@0__:", "set", 0);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->key, "");
  // Another database, another channel, a malformed name: nothing.
  EXPECT_FALSE(parse_keyspace_event("__keyspace@1__:k", "set", 0));
  EXPECT_FALSE(parse_keyspace_event("__keyspace@10__:k", "set", 1));
  EXPECT_FALSE(parse_keyspace_event("news", "hello", 0));
  EXPECT_FALSE(parse_keyspace_event("__keyevent@0__:", "k", 0));
  EXPECT_FALSE(parse_keyspace_event("__keyspace@0_:k", "set", 0));
}

}  // namespace
}  // namespace ferry::protocol
