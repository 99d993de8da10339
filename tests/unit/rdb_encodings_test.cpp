// Encodings built by hand, for what no server here writes any more or what only a newer one
// writes: zipmap hashes, ziplist lists, plain lists, text-score zsets, every ziplist and
// listpack integer width, intsets of each width, Redis 7.4 RC hashes with field TTLs, Valkey 9's
// HASH_2, quicklist plain nodes; and damaged blobs refused with what is wrong.

#include <gtest/gtest.h>

#include <limits>

#include "protocol/rdb/decode.hpp"
#include "protocol/rdb/payload.hpp"
#include "tests/unit/rdb_build.hpp"
#include "tests/unit/rdb_support.hpp"

namespace ferry::protocol::rdb {
namespace {

using namespace testing;

// Decodes and renders every event on one line: "begin hash 2|field f|value v|ttl 5|end".
std::string render(std::uint8_t type_id, const std::string& value, std::uint16_t version = 9) {
  auto d = value_decoder::from_payload(make_payload(type_id, value, version));
  if (!d) return "error: " + d.error().message;
  std::string out;
  for (;;) {
    auto e = d->next();
    if (!e) return out + "error: " + e.error().message;
    if (*e == nullptr) break;
    const value_event& v = **e;
    if (!out.empty()) out += "|";
    switch (v.type) {
      case event_type::begin:
        out += fmt::format("begin {} {}", kind_name(v.kind), v.count);
        break;
      case event_type::string_piece:
      case event_type::element:
        out += std::string(v.data);
        break;
      case event_type::zset_member:
        out += fmt::format("{}={}", v.data, v.score);
        break;
      case event_type::hash_field:
        out += fmt::format("{}:", v.data);
        break;
      case event_type::hash_value:
        out += std::string(v.data);
        break;
      case event_type::hash_field_expiry:
        out += fmt::format("@{}", v.expire_ms);
        break;
      case event_type::end:
        out += "end";
        break;
      default:
        out += "?";
    }
  }
  return out;
}

TEST(rdb_encodings, plain_list_set_hash_and_text_score_zset) {
  EXPECT_EQ(render(type::list, len(2) + str("a") + str("bc")), "begin list 2|a|bc|end");
  EXPECT_EQ(render(type::set, len(1) + str("m")), "begin set 1|m|end");
  EXPECT_EQ(render(type::hash, len(1) + str("f") + str("v")), "begin hash 1|f:|v|end");
  // zset v1: scores as text, 253 NaN (refused), 254 +inf, 255 -inf.
  EXPECT_EQ(render(type::zset, len(3) + str("a") +
                                   "\x03"
                                   "1.5" +
                                   str("b") + byte(0xfe) + str("c") + "\xff"),
            "begin zset 3|a=1.5|b=inf|c=-inf|end");
  EXPECT_NE(render(type::zset, len(1) + str("a") + "\xfd").find("NaN"), std::string::npos);
  EXPECT_NE(render(type::zset, len(1) + str("a") +
                                   "\x02"
                                   "1x")
                .find("not a number"),
            std::string::npos);
}

TEST(rdb_encodings, string_integer_encodings_become_decimal_text) {
  EXPECT_EQ(render(type::string, "\xc0\x85"), "begin string -1|-123|end");
  EXPECT_EQ(render(type::string, byte(0xc1) + le(static_cast<std::uint16_t>(-30000), 2)),
            "begin string -1|-30000|end");
  EXPECT_EQ(render(type::string, byte(0xc2) + le(2147483647u, 4)),
            "begin string -1|2147483647|end");
  EXPECT_NE(render(type::string, "\xc5").find("unknown string encoding"), std::string::npos);
}

TEST(rdb_encodings, zipmap_hash_with_free_bytes) {
  // Redis 2.2: <count><len>field<len><free>value<free bytes>...
  const std::string zm = std::string("\x02") +
                         "\x03"
                         "foo" +
                         "\x03\x02"
                         "bar" +
                         "xx" +
                         "\x05"
                         "hello" +
                         std::string(
                             "\x05\x00"
                             "world",
                             7) +
                         "\xff";
  EXPECT_EQ(render(type::hash_zipmap, str(zm), 2), "begin hash 2|foo:|bar|hello:|world|end");
  const std::string odd = std::string("\x01") +
                          "\x01"
                          "f" +
                          "\xff";
  EXPECT_NE(render(type::hash_zipmap, str(odd), 2).find("without a value"), std::string::npos);
}

TEST(rdb_encodings, ziplist_every_integer_width) {
  const std::string zl = ziplist({
      zl_str("s"),
      "\xf1",                                              // immediate 0
      "\xfd",                                              // immediate 12
      "\xfe\x80",                                          // int8 -128
      byte(0xc0) + le(static_cast<std::uint16_t>(-2), 2),  // int16
      byte(0xf0) + le(0x800000, 3),                        // int24 -8388608
      byte(0xd0) + le(0x7fffffff, 4),                      // int32
      byte(0xe0) + le(0x8000000000000000ULL, 8),           // int64 min
      "\x40\x41" + std::string(65, 'L'),                   // 14-bit length string
  });
  EXPECT_EQ(render(type::list_ziplist, str(zl), 7),
            "begin list 9|s|0|12|-128|-2|-8388608|2147483647|-9223372036854775808|" +
                std::string(65, 'L') + "|end");
  std::string broken = zl;
  broken[10 + 1] = 'X';  // the second entry's prevlen no longer matches
  broken = ziplist({zl_str("a"), zl_str("b")});
  broken[10 + 3] = '\x07';  // prevlen of "b" should be 3
  EXPECT_NE(render(type::list_ziplist, str(broken), 7).find("previous-length"), std::string::npos);
}

TEST(rdb_encodings, ziplist_zset_and_hash) {
  EXPECT_EQ(render(type::zset_ziplist, str(ziplist({zl_str("a"), "\xf3", zl_str("b"), zl_str("2.5"),
                                                    zl_str("c"), zl_str("-inf")}))),
            "begin zset 3|a=2|b=2.5|c=-inf|end");
  EXPECT_EQ(render(type::hash_ziplist, str(ziplist({zl_str("f"), zl_str("v")}))),
            "begin hash 1|f:|v|end");
}

TEST(rdb_encodings, listpack_integers_and_damage) {
  const std::string lp = listpack({
      lp_int(5),
      "\xdf\xff",                                              // 13-bit -1
      byte(0xf1) + le(static_cast<std::uint16_t>(-300), 2),    // 16-bit
      byte(0xf2) + le(0x7fffff, 3),                            // 24-bit max
      byte(0xf3) + le(static_cast<std::uint32_t>(-70000), 4),  // 32-bit
      lp_int(-5), "\xe0\x41" + std::string(65, 'E'),           // 12-bit length string
  });
  EXPECT_EQ(render(type::set_listpack, str(lp), 11),
            "begin set 7|5|-1|-300|8388607|-70000|-5|" + std::string(65, 'E') + "|end");
  std::string bad_backlen = listpack({lp_str("ab")});
  bad_backlen[6 + 3] = '\x09';
  EXPECT_NE(render(type::set_listpack, str(bad_backlen), 11).find("back-length"),
            std::string::npos);
  std::string bad_total = listpack({lp_str("ab")});
  bad_total[0] = '\x40';
  EXPECT_NE(render(type::set_listpack, str(bad_total), 11).find("header says"), std::string::npos);
  std::string bad_count = listpack({lp_str("ab")});
  bad_count[4] = '\x02';
  EXPECT_NE(render(type::set_listpack, str(bad_count), 11).find("entries"), std::string::npos);
}

TEST(rdb_encodings, intsets_of_each_width) {
  EXPECT_EQ(render(type::set_intset,
                   str(le(2, 4) + le(2, 4) + le(static_cast<std::uint16_t>(-1), 2) + le(7, 2))),
            "begin set 2|-1|7|end");
  EXPECT_EQ(render(type::set_intset, str(le(8, 4) + le(1, 4) + le(1ULL << 40, 8))),
            "begin set 1|1099511627776|end");
  EXPECT_NE(
      render(type::set_intset, str(le(4, 4) + le(2, 4) + le(9, 4) + le(3, 4))).find("increasing"),
      std::string::npos);
  EXPECT_NE(render(type::set_intset, str(le(3, 4) + le(0, 4))).find("width"), std::string::npos);
}

TEST(rdb_encodings, quicklist_2_plain_and_packed_nodes) {
  const std::string v =
      len(2) + len(1) + str("big-plain-element") + len(2) + str(listpack({lp_str("x"), lp_int(9)}));
  EXPECT_EQ(render(type::list_quicklist_2, v, 10), "begin list -1|big-plain-element|x|9|end");
  EXPECT_NE(render(type::list_quicklist_2, len(1) + len(3) + str("a"), 10).find("container"),
            std::string::npos);
}

TEST(rdb_encodings, redis_7_4_hashes_with_field_ttls) {
  // 24: min expiry, then <ttl relative to min, +1; 0 = none><field><value>.
  const std::string md =
      le(1000, 8) + len(2) + len(0) + str("a") + str("1") + len(6) + str("b") + str("2");
  EXPECT_EQ(render(type::hash_metadata, md, 12), "begin hash 2|a:|1|@0|b:|2|@1005|end");
  // 22 (7.4 RC): absolute TTLs, no header.
  EXPECT_EQ(render(type::hash_metadata_pre_ga, len(1) + len(777) + str("f") + str("v"), 12),
            "begin hash 1|f:|v|@777|end");
  // 25: min expiry, then a listpack of field, value, ttl (0 none).
  const std::string lpx = le(50, 8) + str(listpack({lp_str("f"), lp_str("v"), lp_int(0),
                                                    lp_str("g"), lp_str("w"), lp_int(123456)}));
  EXPECT_EQ(render(type::hash_listpack_ex, lpx, 12), "begin hash 2|f:|v|@0|g:|w|@123456|end");
  // 23 (RC): the same listpack, no header.
  EXPECT_EQ(render(type::hash_listpack_ex_pre_ga,
                   str(listpack({lp_str("f"), lp_str("v"), lp_int(9)})), 12),
            "begin hash 1|f:|v|@9|end");
  // Not known before RDB 12.
  EXPECT_NE(render(type::hash_metadata, md, 11).find("unknown"), std::string::npos);
}

TEST(rdb_encodings, valkey_9_hash_2) {
  // <field><value><8-byte absolute expiry, -1 none>.
  const std::string h2 = len(2) + str("f") + str("v") + le(static_cast<std::uint64_t>(-1), 8) +
                         str("g") + str("w") + le(424242, 8);
  EXPECT_EQ(render(type::valkey_hash_2, h2, 80), "begin hash 2|f:|v|@0|g:|w|@424242|end");
}

TEST(rdb_encodings, module_values_name_their_module) {
  std::uint64_t id = 0;
  const std::string cs = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (char c : std::string("ReJSON-RL")) id = (id << 6) | cs.find(c);
  id = (id << 10) | 3;
  const std::string value = len(id) + len(2) + len(7) + len(5) + str("x") + len(0);
  const std::string r = render(type::module_2, value, 9);
  EXPECT_NE(r.find("module type 'ReJSON-RL'"), std::string::npos) << r;
  EXPECT_NE(r.find("RESTORE"), std::string::npos) << r;
}

TEST(rdb_encodings, trailing_bytes_after_a_value_are_refused) {
  EXPECT_NE(render(type::string, str("abc") + "junk").find("left after"), std::string::npos);
}

}  // namespace
}  // namespace ferry::protocol::rdb
