// The count that proves verify's extra-key pass unnecessary (engine/verify/extra_proof.hpp):
// which INFO fields it needs, and every way a change on the target makes it fall back.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/verify/extra_proof.hpp"

namespace ferry::engine {
namespace {

using ::testing::HasSubstr;

const char* const full_info =
    "# Server\r\nredis_version:7.4.1\r\nrun_id:abc123\r\n"
    "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
    "# Persistence\r\nrdb_changes_since_last_save:17\r\nrdb_bgsave_in_progress:0\r\n"
    "rdb_last_save_time:1764630000\r\nrdb_saves:3\r\n"
    "# Stats\r\nexpired_keys:5\r\nevicted_keys:0\r\nexpired_keys_active:1\r\n";

node_state node(std::int64_t keys) {
  node_state s;
  s.address = "127.0.0.1:7000";
  EXPECT_EQ(parse_node_info(full_info, s), "");
  s.keys = keys;
  return s;
}

TEST(extra_proof, parses_every_field_it_needs) {
  node_state s;
  ASSERT_EQ(parse_node_info(full_info, s), "");
  EXPECT_EQ(s.run_id, "abc123");
  EXPECT_EQ(s.role, "master");
  EXPECT_EQ(s.dirty, 17);
  EXPECT_EQ(s.saves, 3);
  EXPECT_EQ(s.last_save, 1764630000);
  EXPECT_EQ(s.expired, 5);  // not expired_keys_active, whose name starts alike
  EXPECT_EQ(s.evicted, 0);
}

TEST(extra_proof, names_the_first_field_a_server_does_not_give) {
  // Redis 6.2 has no rdb_saves; a proxy may give no persistence section at all.
  std::string old = full_info;
  old.erase(old.find("rdb_saves:3\r\n"), 13);
  node_state s;
  EXPECT_EQ(parse_node_info(old, s), "rdb_saves");
  EXPECT_EQ(parse_node_info("# Server\r\nrun_id:x\r\nrole:master\r\n", s),
            "rdb_changes_since_last_save");
  EXPECT_EQ(parse_node_info("rdb_changes_since_last_save:x1\r\nrun_id:a\r\nrole:master\r\n", s),
            "rdb_changes_since_last_save");
  EXPECT_EQ(parse_node_info("", s), "run_id");
}

TEST(extra_proof, proves_only_when_the_count_matches_and_nothing_moved) {
  EXPECT_EQ(judge_extra_proof({node(100)}, {node(100)}, 100), std::nullopt);
  EXPECT_EQ(judge_extra_proof({node(100), node(50)}, {node(100), node(50)}, 150), std::nullopt);
  EXPECT_EQ(judge_extra_proof({}, {}, 0), std::nullopt);
  // One key more on the target than the source pass found there: an extra key may hide.
  EXPECT_THAT(judge_extra_proof({node(101)}, {node(101)}, 100).value_or(""),
              HasSubstr("holds 101 keys and the source pass found 100"));
  // Fewer (a key logically expired there, counted by DBSIZE but read as absent): falls back too.
  EXPECT_TRUE(judge_extra_proof({node(100)}, {node(100)}, 101).has_value());
}

TEST(extra_proof, falls_back_on_any_sign_of_a_change_on_the_target) {
  const auto changed = [](auto edit) {
    node_state after = node(100);
    edit(after);
    return judge_extra_proof({node(100)}, {after}, 100);
  };
  EXPECT_THAT(changed([](auto& s) { ++s.dirty; }).value_or(""), HasSubstr("written"));
  // A save resets the write counter: the save counter and time say so.
  EXPECT_TRUE(changed([](auto& s) { ++s.saves; }).has_value());
  EXPECT_TRUE(changed([](auto& s) { ++s.last_save; }).has_value());
  EXPECT_TRUE(changed([](auto& s) { ++s.expired; }).has_value());
  EXPECT_TRUE(changed([](auto& s) { ++s.evicted; }).has_value());
  EXPECT_THAT(changed([](auto& s) { s.run_id = "other"; }).value_or(""), HasSubstr("another node"));
  EXPECT_THAT(changed([](auto& s) { s.role = "slave"; }).value_or(""), HasSubstr("not a master"));
  EXPECT_THAT(changed([](auto& s) { s.keys = 99; }).value_or(""), HasSubstr("before"));
  EXPECT_TRUE(judge_extra_proof({node(100)}, {node(100), node(0)}, 100).has_value());
}

TEST(extra_proof, counts_distinct_keys_and_gives_up_past_its_limit) {
  key_hash_set a(10);
  a.add("k1");
  a.add("k2");
  a.add("k1");  // SCAN may return a key twice
  key_hash_set b(10);
  b.add("k2");  // or two source masters the same key, when a slot moves
  b.add("k3");
  a.merge(std::move(b));
  EXPECT_FALSE(a.overflowed());
  EXPECT_EQ(a.distinct(), 3u);

  key_hash_set small(2);
  small.add("a");
  small.add("b");
  EXPECT_FALSE(small.overflowed());
  small.add("c");
  EXPECT_TRUE(small.overflowed());
  key_hash_set other(10);
  other.merge(std::move(small));
  EXPECT_TRUE(other.overflowed());
}

TEST(extra_proof, finds_every_noted_key_and_few_others_at_every_size) {
  // The bucket index of contains() at sizes around its bucket boundaries, and empty.
  for (const std::size_t n : {0u, 1u, 3u, 4u, 5u, 17u, 1000u, 100'000u}) {
    key_hash_set set;
    for (std::size_t i = 0; i < n; ++i) set.add("key:" + std::to_string(i));
    ASSERT_EQ(set.distinct(), n);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_TRUE(set.contains("key:" + std::to_string(i))) << n << " keys, key " << i;
      if (set.contains("other:" + std::to_string(i))) ++wrong;
    }
    EXPECT_EQ(wrong, 0u) << n;  // a 64-bit hash: a false match among these is a bug
    EXPECT_FALSE(set.contains("never-added"));
  }
}

}  // namespace
}  // namespace ferry::engine
