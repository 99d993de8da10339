// Key slots against answers recorded from a real server: redis-server 7.0.15 started with
// --cluster-enabled yes, asked `CLUSTER KEYSLOT <key>` over raw RESP (so binary keys went in
// byte for byte). The recording was done once; these tests need no server.

#include "protocol/wire/key_slot.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/wire/slots.hpp"

namespace ferry::protocol {
namespace {

using namespace std::string_view_literals;

struct known_slot {
  std::string_view key;
  std::uint16_t slot;
};

// Octal escapes (always three digits) keep binary bytes unambiguous; `sv` keeps embedded NULs.
constexpr known_slot recorded[] = {
    {""sv, 0},
    {"123456789"sv, 12739},
    {"foo"sv, 12182},
    {"bar"sv, 5061},
    {"hello"sv, 866},
    {"key:1"sv, 6657},
    {"user:1000"sv, 1649},
    {"a"sv, 15495},
    {"A"sv, 6373},
    {"0"sv, 13907},
    // Hash tags.
    {"{user1000}.following"sv, 3443},
    {"{user1000}.followers"sv, 3443},
    {"user1000"sv, 3443},
    {"foo{}{bar}"sv, 8363},     // first tag empty: the whole key
    {"foo{{bar}}zap"sv, 4015},  // tag is "{bar"
    {"{bar"sv, 4015},
    {"foo{bar}{zap}"sv, 5061},  // first tag only: "bar"
    {"{}"sv, 15257},
    {"{"sv, 4092},
    {"}"sv, 12090},
    {"}{"sv, 12793},
    {"{a"sv, 10276},
    {"a}"sv, 5921},
    {"}{a}"sv, 15495},  // a '}' before the '{' does not count
    {"{a}}"sv, 15495},
    {"{{}}"sv, 4092},            // tag is "{"
    {"foo{}bar{zap}"sv, 15239},  // first '{' has an empty tag: the whole key, not "zap"
    {"{}{a}"sv, 13650},
    {"a{b}c"sv, 3300},
    {"{b}"sv, 3300},
    {"b"sv, 3300},
    {"{ }"sv, 9314},
    {"{{"sv, 7007},
    {"}}"sv, 4415},
    // Binary: NUL, CR, LF, 0xFF.
    {"\000"sv, 0},
    {"a\000b"sv, 8383},
    {"{\000}x"sv, 0},
    {"\015\012"sv, 5910},
    {"key\015\012with\015crlf"sv, 2789},
    {"\377"sv, 7920},
    {"\377\376\000\001"sv, 9169},
    {"{\377}tail"sv, 7920},
    // UTF-8: "ключ", "键", "🔑key", "{用户}:1", "用户".
    {"\320\272\320\273\321\216\321\207"sv, 10303},
    {"\351\224\256"sv, 16043},
    {"\360\237\224\221key"sv, 2915},
    {"{\347\224\250\346\210\267}:1"sv, 5340},
    {"\347\224\250\346\210\267"sv, 5340},
};

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(crc16, matches_the_xmodem_check_value) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
}

TEST(key_slot, matches_redis_cluster_keyslot) {
  for (const auto& [key, slot] : recorded) {
    EXPECT_EQ(key_slot(key), slot)
        << "key of " << key.size() << " bytes: " << testing::PrintToString(std::string(key));
  }
}

TEST(key_slot, matches_redis_for_long_keys) {
  EXPECT_EQ(key_slot(repeat("ferry", 200)), 10553);
  EXPECT_EQ(key_slot(repeat("0123456789abcdef", 4096)), 8297);
  EXPECT_EQ(key_slot(std::string(100000, 'x')), 2155);
  const auto tagged = "{" + std::string(1000, 't') + "}" + std::string(1000, 'z');
  EXPECT_EQ(key_slot(tagged), 14962);
  EXPECT_EQ(key_slot(std::string(1000, 't')), 14962);
}

TEST(key_slot, is_always_below_slot_count) {
  std::string key;
  for (int i = 0; i < 5000; ++i) {
    key = "key:" + std::to_string(i);
    EXPECT_LT(key_slot(key), slot_count);
  }
}

TEST(key_slot, hash_tag_puts_keys_in_one_slot) {
  EXPECT_EQ(key_slot("{order:42}:items"), key_slot("{order:42}:total"));
  EXPECT_EQ(key_slot("{order:42}:items"), key_slot("order:42"));
  EXPECT_EQ(key_slot("prefix{order:42}"), key_slot("order:42"));
}

// result<T, std::string> has no value(): Boost.System cannot throw a std::string error.
slot_range parsed(std::string_view text) {
  const auto r = parse_slot_range(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error());
  return r ? *r : slot_range{1, 0};
}

TEST(parse_slot_range, reads_ranges_and_single_slots) {
  EXPECT_EQ(parsed("0-16383"), (slot_range{0, 16383}));
  EXPECT_EQ(parsed("100-200"), (slot_range{100, 200}));
  EXPECT_EQ(parsed("5-5"), (slot_range{5, 5}));
  EXPECT_EQ(parsed("42"), (slot_range{42, 42}));
  EXPECT_EQ(parsed("0"), (slot_range{0, 0}));
  EXPECT_EQ(parsed("16383"), (slot_range{16383, 16383}));
  EXPECT_EQ(parsed("007-0010"), (slot_range{7, 10}));
}

TEST(parse_slot_range, refuses_garbage_reversed_and_out_of_range) {
  for (const std::string_view bad :
       {""sv,     "-"sv,      "a"sv,       "1-b"sv,         "x-2"sv,
        "-5"sv,   "5-"sv,     "1--2"sv,    "1-2-3"sv,       " 1-2"sv,
        "1-2 "sv, "1 - 2"sv,  "+1"sv,      "1-+2"sv,        "0x10"sv,
        "1.5"sv,  "16384"sv,  "0-16384"sv, "16384-16385"sv, "99999999999999999999"sv,
        "10-5"sv, "16383-0"sv}) {
    const auto r = parse_slot_range(bad);
    EXPECT_TRUE(r.has_error()) << "accepted \"" << bad << "\"";
    if (r.has_error()) {
      EXPECT_NE(r.error().find("16383"), std::string::npos) << r.error();
    }
  }
}

TEST(parse_slot_range, says_why) {
  EXPECT_NE(parse_slot_range("10-5").error().find("first slot is after the last"),
            std::string::npos);
  EXPECT_NE(parse_slot_range("0-16384").error().find("last slot"), std::string::npos);
  EXPECT_NE(parse_slot_range("").error().find("empty"), std::string::npos);
}

TEST(slot_range, contains_overlaps_and_size) {
  const slot_range r{100, 200};
  EXPECT_TRUE(r.contains(100));
  EXPECT_TRUE(r.contains(200));
  EXPECT_FALSE(r.contains(99));
  EXPECT_FALSE(r.contains(201));
  EXPECT_EQ(r.size(), 101u);
  EXPECT_EQ(slot_range{}.size(), 16384u);
  EXPECT_TRUE(r.overlaps({200, 300}));
  EXPECT_TRUE(r.overlaps({0, 100}));
  EXPECT_TRUE(r.overlaps({150, 150}));
  EXPECT_FALSE(r.overlaps({201, 300}));
  EXPECT_FALSE(r.overlaps({0, 99}));
}

TEST(hash_tag_for, every_slot_has_a_short_tag_and_the_tag_lands_there) {
  // One pass over the decimal numbers finds the first of every slot (what hash_tag_for returns).
  std::vector<std::uint32_t> first(slot_count, 0);
  std::vector<bool> seen(slot_count, false);
  std::size_t covered = 0;
  for (std::uint32_t n = 0; n < 110'000 && covered < slot_count; ++n) {
    const std::uint16_t slot = key_slot(std::to_string(n));
    if (!seen[slot]) {
      seen[slot] = true;
      first[slot] = n;
      ++covered;
    }
  }
  ASSERT_EQ(covered, slot_count) << "a slot has no tag below 110,000";
  for (const std::uint16_t slot : {0, 1, 5460, 5461, 10922, 12182, 16383}) {
    const std::string tag = hash_tag_for(slot);
    EXPECT_EQ(tag, std::to_string(first[slot])) << slot;
    EXPECT_EQ(key_slot("{" + tag + "}ferry:scratch:\r\n"), slot) << slot;
  }
}

}  // namespace
}  // namespace ferry::protocol
