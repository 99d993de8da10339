// The canonical digest verify computes itself from a small value's DUMP payload
// (engine/verify/payload_digest.hpp): one value in every encoding two servers may write gives one
// digest; any change of a member, field, value, score, order (lists) or field expiry gives another.

#include <gtest/gtest.h>

#include <bit>
#include <limits>

#include "engine/verify/digest_scripts.hpp"
#include "engine/verify/payload_digest.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "tests/unit/rdb_build.hpp"

namespace ferry::engine {
namespace {

namespace type = protocol::rdb::type;
using namespace protocol::rdb::testing;
using protocol::rdb::make_payload;

std::string digest(std::uint8_t type_id, const std::string& value, std::uint16_t version = 9) {
  auto d = payload_canonical_digest(make_payload(type_id, value, version));
  return d ? *d : "none";
}

std::string binary_double(double v) { return le(std::bit_cast<std::uint64_t>(v), 8); }

TEST(verify_payload_digest, a_string_digests_as_the_direct_reads_and_the_scripts_do) {
  EXPECT_EQ(digest(type::string, str("hello")), string_digest("hello"));
  EXPECT_EQ(digest(type::string, str("")), string_digest(""));
  // An integer-encoded string is its decimal text.
  EXPECT_EQ(digest(type::string, "\xc0\x07"), string_digest("7"));
}

TEST(verify_payload_digest, a_set_is_the_same_in_every_encoding_and_order) {
  const std::string intset =
      digest(type::set_intset, str(le(2, 4) + le(3, 4) + le(1, 2) + le(2, 2) + le(10, 2)));
  EXPECT_NE(intset, "none");
  EXPECT_EQ(digest(type::set, len(3) + str("10") + str("1") + str("2")), intset);
  EXPECT_EQ(digest(type::set_listpack, str(listpack({lp_int(2), lp_int(10), lp_int(1)})), 11),
            intset);
  EXPECT_EQ(digest(type::set_listpack, str(listpack({lp_str("2"), lp_str("1"), lp_str("10")})), 11),
            intset);
  EXPECT_NE(digest(type::set, len(3) + str("10") + str("1") + str("3")), intset);
  EXPECT_NE(digest(type::set, len(2) + str("10") + str("1")), intset);
  // Members never run together.
  EXPECT_NE(digest(type::set, len(2) + str("ab") + str("c")),
            digest(type::set, len(2) + str("a") + str("bc")));
}

TEST(verify_payload_digest, a_list_keeps_its_order_and_no_encoding_matters) {
  const std::string plain = digest(type::list, len(3) + str("a") + str("b") + str("7"));
  EXPECT_EQ(digest(type::list_ziplist, str(ziplist({zl_str("a"), zl_str("b"), zl_str("7")}))),
            plain);
  EXPECT_NE(digest(type::list, len(3) + str("b") + str("a") + str("7")), plain);
  EXPECT_NE(digest(type::list, len(2) + str("a") + str("b")), plain);
  // A list and a set of the same strings are not equal values.
  EXPECT_NE(digest(type::set, len(3) + str("a") + str("b") + str("7")), plain);
}

TEST(verify_payload_digest, a_hash_is_the_same_in_every_encoding_and_field_order) {
  const std::string plain =
      digest(type::hash, len(2) + str("f1") + str("v1") + str("f2") + str("v2"));
  EXPECT_EQ(digest(type::hash_ziplist,
                   str(ziplist({zl_str("f2"), zl_str("v2"), zl_str("f1"), zl_str("v1")}))),
            plain);
  EXPECT_EQ(digest(type::hash_listpack,
                   str(listpack({lp_str("f2"), lp_str("v2"), lp_str("f1"), lp_str("v1")})), 10),
            plain);
  EXPECT_NE(digest(type::hash, len(2) + str("f1") + str("v1") + str("f2") + str("v3")), plain);
  EXPECT_NE(digest(type::hash, len(2) + str("f1") + str("v2") + str("f2") + str("v1")), plain);
  EXPECT_NE(digest(type::hash, len(1) + str("f1") + str("v1f2v2")), plain);
}

TEST(verify_payload_digest, a_hash_field_expiry_counts) {
  // Redis 7.4's listpack hash with field TTLs: min expiry, then field, value, ttl (0 = none).
  const auto lp_ex = [](std::int64_t ttl) {
    return le(0, 8) + str(listpack({lp_str("f1"), lp_str("v1"), lp_int(0), lp_str("f2"),
                                    lp_str("v2"), ttl ? lp_int(ttl) : lp_int(0)}));
  };
  const std::string none = digest(type::hash_listpack_ex, lp_ex(0), 12);
  EXPECT_NE(none, "none");
  EXPECT_EQ(none, digest(type::hash, len(2) + str("f1") + str("v1") + str("f2") + str("v2")));
  const std::string with = digest(type::hash_listpack_ex, lp_ex(1'900'000'000'000), 12);
  EXPECT_NE(with, "none");
  EXPECT_NE(with, none);
  EXPECT_NE(with, digest(type::hash_listpack_ex, lp_ex(1'900'000'000'001), 12));
}

TEST(verify_payload_digest, a_sorted_set_compares_members_and_exact_scores) {
  const std::string binary =
      digest(type::zset_2, len(2) + str("b") + binary_double(2.5) + str("a") + binary_double(1.0));
  EXPECT_NE(binary, "none");
  EXPECT_EQ(digest(type::zset_listpack,
                   str(listpack({lp_str("a"), lp_int(1), lp_str("b"), lp_str("2.5")})), 10),
            binary);
  EXPECT_EQ(digest(type::zset_ziplist,
                   str(ziplist({zl_str("a"), zl_str("1"), zl_str("b"), zl_str("2.5")}))),
            binary);
  EXPECT_NE(digest(type::zset_2, len(2) + str("b") + binary_double(2.5000000000000004) + str("a") +
                                     binary_double(1.0)),
            binary);
  EXPECT_NE(
      digest(type::zset_2, len(2) + str("b") + binary_double(1.0) + str("a") + binary_double(2.5)),
      binary);
  // -0 and +0 are different scores to Redis (ZSCORE prints "-0").
  EXPECT_NE(digest(type::zset_2, len(1) + str("a") + binary_double(-0.0)),
            digest(type::zset_2, len(1) + str("a") + binary_double(0.0)));
  EXPECT_EQ(digest(type::zset_2,
                   len(1) + str("a") + binary_double(std::numeric_limits<double>::infinity())),
            digest(type::zset, len(1) + str("a") + byte(0xfe)));
}

TEST(verify_payload_digest, modules_and_damaged_payloads_are_left_to_the_server) {
  std::string payload = make_payload(type::set, len(1) + str("m"), 9);
  payload[3] ^= 1;  // the CRC no longer matches
  EXPECT_FALSE(payload_canonical_digest(payload));
  EXPECT_FALSE(payload_canonical_digest("\x00"));
  EXPECT_FALSE(payload_canonical_digest(make_payload(type::set, len(2) + str("m"), 9)));
  std::uint64_t id = 0;  // a ReJSON value, as rdb_encodings_test builds it
  const std::string cs = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (char c : std::string("ReJSON-RL")) id = (id << 6) | cs.find(c);
  id = (id << 10) | 3;
  EXPECT_FALSE(payload_canonical_digest(
      make_payload(type::module_2, len(id) + len(2) + len(7) + len(5) + str("x") + len(0), 9)));
}

}  // namespace
}  // namespace ferry::engine
