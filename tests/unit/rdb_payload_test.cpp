// The DUMP payload trailer: parse, make, CRC check, and the downgrade decision for every type a
// real server wrote (tests/data/rdb) against every target generation.

#include <gtest/gtest.h>

#include <set>

#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "tests/unit/rdb_support.hpp"

namespace ferry::protocol::rdb {
namespace {

TEST(rdb_payload, make_and_parse_round_trip) {
  const std::string p = make_payload(type::string,
                                     std::string("\x03"
                                                 "abc",
                                                 4),
                                     11);
  auto v = parse_payload(p);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->type_id, type::string);
  EXPECT_EQ(v->version, 11);
  EXPECT_EQ(v->value, std::string_view("\x03"
                                       "abc",
                                       4));
  EXPECT_EQ(v->body.size(), 5u);
}

TEST(rdb_payload, a_real_dump_checks_and_a_damaged_one_does_not) {
  for (const auto& k : testing::load_fixture("7.0")) {
    ASSERT_TRUE(parse_payload(k.payload).ok());
    std::string damaged = k.payload;
    damaged[damaged.size() / 2] ^= 0x20;
    auto r = parse_payload(damaged);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, errc::bad_checksum);
    EXPECT_NE(r.error().message.find("damaged"), std::string::npos);
  }
  auto short_one = parse_payload("\x00\x01");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code, errc::truncated);
}

TEST(rdb_payload, target_acceptance_follows_redis_and_valkey) {
  EXPECT_TRUE(accepts_version(10, 9));
  EXPECT_TRUE(accepts_version(10, 10));
  EXPECT_FALSE(accepts_version(10, 11));
  EXPECT_TRUE(accepts_version(80, 11));
  EXPECT_FALSE(accepts_version(80, 12));  // Valkey 9 refuses "foreign" versions by default
  EXPECT_TRUE(accepts_version(80, 80));
  EXPECT_FALSE(accepts_version(12, 80));
}

struct expectation {
  std::uint8_t type_id;
  std::uint16_t target;
  downgrade_verdict verdict;
  std::uint16_t version;
};

TEST(rdb_payload, downgrade_decisions_for_every_real_type) {
  std::set<std::pair<int, int>> covered;
  for (const std::string& server : testing::fixture_versions()) {
    for (const auto& k : testing::load_fixture(server)) {
      const auto original = *parse_payload(k.payload);
      for (std::uint16_t target : {9, 10, 11, 12, 80}) {
        SCOPED_TRACE(
            fmt::format("{} {} type {} -> RDB {}", server, k.key, original.type_id, target));
        std::string p = k.payload;
        auto r = downgrade_payload(p, target);
        ASSERT_TRUE(r.ok()) << r.error().message;
        covered.insert({original.type_id, target});
        if (accepts_version(target, original.version)) {
          EXPECT_EQ(r->verdict, downgrade_verdict::unchanged);
          EXPECT_EQ(p, k.payload);
          continue;
        }
        const auto info = describe_type(original.type_id, original.version);
        // Exact iff the target's generation has this type id with the same meaning.
        const std::uint16_t newest_accepted = target >= 80 ? 11 : target;
        const bool known = info->since <= newest_accepted;
        if (!known) {
          EXPECT_EQ(r->verdict, downgrade_verdict::needs_struct);
          EXPECT_NE(r->reason.find("type commands"), std::string::npos);
          EXPECT_EQ(p, k.payload);
          continue;
        }
        EXPECT_EQ(r->verdict, downgrade_verdict::rewritten);
        EXPECT_EQ(r->version, newest_accepted);
        auto now = parse_payload(p);
        ASSERT_TRUE(now.ok()) << now.error().message;
        EXPECT_EQ(now->version, newest_accepted);
        EXPECT_EQ(now->body, original.body);
        EXPECT_TRUE(accepts_version(target, now->version));
        EXPECT_EQ(testing::decode_canonical(p, testing::stream_v2_fields(server)), k.items);
      }
    }
  }
  // The table's key cases, spelled out.
  const expectation cases[] = {
      {type::hash_listpack, 9, downgrade_verdict::needs_struct, 12},  // 7.4 -> 6.2
      {type::hash_listpack, 10, downgrade_verdict::rewritten, 10},    // 7.4 -> 7.0
      {type::set_listpack, 10, downgrade_verdict::needs_struct, 12},  // 7.2 type -> 7.0
      {type::hash_listpack_ex, 11, downgrade_verdict::needs_struct, 12},
      {type::hash_metadata, 80, downgrade_verdict::needs_struct, 12},
      {type::stream_listpacks_3, 80, downgrade_verdict::rewritten, 11},  // 7.4 -> Valkey 9
      {type::string, 9, downgrade_verdict::rewritten, 9},
      {type::zset_2, 7, downgrade_verdict::needs_struct, 12},  // binary scores need RDB 8
  };
  for (const auto& c : cases) {
    std::string p = make_payload(c.type_id, "\x00", 12);
    auto r = downgrade_payload(p, c.target);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->verdict, c.verdict) << int(c.type_id) << " -> " << c.target;
    EXPECT_EQ(r->version, c.version) << int(c.type_id) << " -> " << c.target;
  }
  EXPECT_TRUE(covered.count({type::hash_listpack_ex, 11}));
}

TEST(rdb_payload, valkey_9_hash_2_is_not_redis_type_22) {
  std::string p = make_payload(type::valkey_hash_2, "\x00", 80);
  auto r = downgrade_payload(p, 12);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, downgrade_verdict::needs_struct);
  p = make_payload(type::zset_2, "\x00", 80);
  r = downgrade_payload(p, 12);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, downgrade_verdict::rewritten);
  EXPECT_EQ(r->version, 12);
  std::string old = make_payload(type::hash, "\x00", 12);
  r = downgrade_payload(old, 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verdict, downgrade_verdict::needs_struct);  // below RDB 6: ziplist 24-bit ints
}

TEST(rdb_payload, module_names_decode_from_ids) {
  // "MBbloom--" encoding version 1: the id RedisBloom registers.
  const std::string name = "MBbloom--";
  std::uint64_t id = 0;
  const std::string cs = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (char c : name) id = (id << 6) | cs.find(c);
  id = (id << 10) | 1;
  EXPECT_EQ(module_name(id), name);
  EXPECT_EQ(module_encver(id), 1u);
}

}  // namespace
}  // namespace ferry::protocol::rdb
