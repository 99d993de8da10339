// The file reader on damaged and unusual files: every truncation refused at the byte where the
// input ends, CRC mismatches, a zero CRC (rdbchecksum no), headers of both magics, old versions
// without a CRC, every opcode (expiry in seconds, LRU/LFU, SLOT_INFO, MODULE_AUX, 7.0-RC
// functions), module values, and unknown types/opcodes named with their offset and key.

#include <gtest/gtest.h>

#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/reader.hpp"
#include "tests/unit/rdb_build.hpp"
#include "tests/unit/rdb_support.hpp"

namespace ferry::protocol::rdb {
namespace {

using namespace testing;

struct read_all_result {
  std::vector<record> records;
  std::optional<error> failure;
};

read_all_result read_all(std::string_view bytes, reader_options options = {}) {
  memory_source source(bytes);
  file_reader reader(source, options);
  read_all_result out;
  for (;;) {
    auto r = reader.next();
    if (!r) {
      out.failure = r.error();
      return out;
    }
    if (*r == nullptr) return out;
    out.records.push_back(**r);
  }
}

std::string fixture_file(const std::string& v) {
  return read_file(fixtures_dir() / v / "dump.rdb");
}

TEST(rdb_reader, every_truncation_is_refused_where_the_input_ends) {
  const std::string file = fixture_file("7.0");
  for (std::size_t n = 0; n < file.size(); n += (n < 600 ? 1 : 97)) {
    const auto r = read_all(std::string_view(file).substr(0, n));
    ASSERT_TRUE(r.failure.has_value()) << n;
    if (n < 9) {
      EXPECT_EQ(r.failure->code, errc::bad_magic) << n;
      continue;
    }
    ASSERT_EQ(r.failure->code, errc::truncated) << n << ": " << r.failure->message;
    EXPECT_EQ(r.failure->offset, n);
    EXPECT_NE(r.failure->message.find("truncated"), std::string::npos);
    EXPECT_NE(r.failure->message.find(std::to_string(n)), std::string::npos);
    // Nothing read from the truncated part is reported as complete: the end record never comes.
    for (const record& rec : r.records) EXPECT_NE(rec.type, record_type::end);
  }
}

TEST(rdb_reader, a_truncated_value_names_its_key) {
  const std::string file = fixture_file("7.0");
  const auto all = read_all(file);
  const auto key = std::find_if(all.records.begin(), all.records.end(), [](const record& r) {
    return r.type == record_type::key && r.key.key == "l:long";
  });
  ASSERT_NE(key, all.records.end());
  const auto r = read_all(std::string_view(file).substr(0, key->offset + 40));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_NE(r.failure->message.find("key 'l:long'"), std::string::npos) << r.failure->message;
}

TEST(rdb_reader, a_bad_checksum_is_refused_and_a_zero_one_is_not_checked) {
  std::string file = fixture_file("7.4");
  std::string flipped = file;
  flipped[flipped.size() - 3] ^= 1;
  auto r = read_all(flipped);
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::bad_checksum);
  EXPECT_NE(r.failure->message.find("damaged"), std::string::npos);
  EXPECT_EQ(r.failure->offset, file.size() - 8);

  // A flipped byte inside a string value keeps the structure: only the CRC finds it.
  const auto all = read_all(file);
  const auto raw = std::find_if(all.records.begin(), all.records.end(), [](const record& x) {
    return x.type == record_type::key && x.key.key == "s:raw";
  });
  ASSERT_NE(raw, all.records.end());
  std::string inside = file;
  inside[raw->offset + 100] ^= 0x55;
  r = read_all(inside);
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::bad_checksum);
  reader_options lax;
  lax.verify_checksum = false;
  EXPECT_FALSE(read_all(inside, lax).failure.has_value());

  std::string zero = file;
  for (std::size_t i = zero.size() - 8; i < zero.size(); ++i) zero[i] = 0;
  r = read_all(zero);
  ASSERT_FALSE(r.failure.has_value()) << r.failure->message;
  EXPECT_EQ(r.records.back().type, record_type::end);
  EXPECT_FALSE(r.records.back().checksum_checked);
}

TEST(rdb_reader, headers) {
  auto r = read_all("HELLO0009\xff");
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::bad_magic);
  r = read_all(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_NE(r.failure->message.find("gzip"), std::string::npos);
  r = read_all("REDIS0000\xff");
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::unsupported_version);
  r = read_all("VALKEY011\xff");
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::unsupported_version);

  // A newer Redis version is read with the types ferry knows.
  const std::string newer = rdb_file(byte(0) + str("k") + str("v"), 13);
  memory_source src(newer);
  file_reader reader(src);
  auto h = reader.open();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->newer_than_known);
  EXPECT_EQ((*h)->version, 13);
  auto rec = reader.next();
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ((**rec).key.key, "k");
}

TEST(rdb_reader, valkey_9_files_and_their_hash_2) {
  const std::string body = std::string(1, '\xfe') + len(0) + byte(0x16) + str("h") + len(1) +
                           str("f") + str("v") + le(1234, 8);
  const auto r = read_all(rdb_file(body, 80));
  ASSERT_FALSE(r.failure.has_value()) << r.failure->message;
  ASSERT_EQ(r.records.size(), 3u);
  const key_entry& k = r.records[1].key;
  EXPECT_EQ(k.key, "h");
  EXPECT_EQ(k.kind, value_kind::hash);
  auto p = parse_payload(k.payload);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 80);
  EXPECT_EQ(decode_canonical(k.payload, true),
            std::vector<std::string>{to_hex("f") + " " + to_hex("v") + " 1234"});
  EXPECT_TRUE(r.records[2].checksum_checked);
}

TEST(rdb_reader, every_opcode) {
  std::uint64_t module_id = (std::uint64_t{0x123456789} << 10) | 2;
  const std::string body =
      byte(0xfa) + str("%info") + str("x") +                                           // AUX
      byte(0xf6) + str("lib") + str("LUA") + len(1) + str("desc") + str("return 1") +  // 7.0 RC
      byte(0xf5) + str("#!lua name=l2\n") +                                            // FUNCTION2
      byte(0xf7) + len(module_id) + len(2) + len(1) + len(5) + str("aux") + len(0) +   // MODULE_AUX
      byte(0xfe) + len(3) + byte(0xfb) + len(2) + len(1) +  // SELECTDB 3, RESIZEDB
      byte(0xf4) + len(100) + len(2) + len(1) +             // SLOT_INFO
      byte(0xfd) + le(1700000000, 4) + byte(0xf8) + len(77) + byte(0) + str("a") + str("1") +
      "\xf9" + byte(0x05) + byte(0xfc) + le(1700000000123ULL, 8) + byte(0x07) + str("m") +
      len(module_id) + len(4) + le(0, 8) + len(3) + le(0, 4) + len(1) + len(9) + len(0);
  const auto r = read_all(rdb_file(body, 10));
  ASSERT_FALSE(r.failure.has_value()) << r.failure->message;
  ASSERT_EQ(r.records.size(), 10u);
  EXPECT_EQ(r.records[0].type, record_type::aux);
  EXPECT_EQ(r.records[0].name, "%info");
  EXPECT_EQ(r.records[1].type, record_type::function_pre_ga);
  EXPECT_EQ(r.records[1].engine, "LUA");
  EXPECT_EQ(r.records[1].description, "desc");
  EXPECT_EQ(r.records[1].value, "return 1");
  EXPECT_EQ(r.records[2].type, record_type::function);
  EXPECT_EQ(r.records[3].type, record_type::module_aux);
  EXPECT_EQ(r.records[3].module_id, module_id);
  EXPECT_EQ(r.records[3].module_when, 1u);
  EXPECT_EQ(r.records[4].db, 3u);
  EXPECT_EQ(r.records[5].db_size, 2u);
  EXPECT_EQ(r.records[6].slot, 100u);
  const key_entry& a = r.records[7].key;
  EXPECT_EQ(a.db, 3u);
  EXPECT_EQ(a.expire_ms, 1700000000000);
  EXPECT_EQ(a.lru_idle, 77u);
  EXPECT_FALSE(a.lfu_freq.has_value());
  EXPECT_EQ(a.offset, r.records[6].offset + 5);  // the EXPIRETIME opcode, not the type byte
  const key_entry& m = r.records[8].key;
  EXPECT_EQ(m.kind, value_kind::module);
  EXPECT_EQ(m.module_id, module_id);
  EXPECT_EQ(m.lfu_freq, 5);
  EXPECT_EQ(m.expire_ms, 1700000000123);
  EXPECT_EQ(r.records[9].type, record_type::end);
}

TEST(rdb_reader, old_versions_have_no_checksum) {
  const auto r = read_all(rdb_file(byte(0) + str("k") + str("v"), 4));
  ASSERT_FALSE(r.failure.has_value()) << r.failure->message;
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_FALSE(r.records[1].checksum_checked);
  auto p = parse_payload(r.records[0].key.payload);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 4);
}

TEST(rdb_reader, unknown_types_and_opcodes_are_named) {
  auto r = read_all(rdb_file(std::string(1, '\x1e') + str("k") + str("v"), 11));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::unknown_type);
  EXPECT_EQ(r.failure->offset, 9u);
  EXPECT_NE(r.failure->message.find("type 30"), std::string::npos);
  // Redis's field-TTL hashes are not RDB 11 types.
  r = read_all(rdb_file(std::string(1, '\x19') + str("k") + str("v"), 11));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::unknown_type);
  r = read_all(rdb_file(std::string(1, '\xc8'), 11));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::unknown_opcode);
  r = read_all(rdb_file(std::string(1, '\xf3'), 80));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_NE(r.failure->message.find("slot-import"), std::string::npos);
  r = read_all(rdb_file(byte(0x07) + str("m") + len(1) + len(9), 9));
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->code, errc::unknown_opcode);
  EXPECT_NE(r.failure->message.find("key 'm'"), std::string::npos);
}

TEST(rdb_reader, expired_keys_are_reported_with_their_expiry) {
  const auto r = read_all(rdb_file(byte(0xfc) + le(5, 8) + byte(0) + str("old") + str("v"), 9));
  ASSERT_FALSE(r.failure.has_value());
  EXPECT_EQ(r.records[0].key.expire_ms, 5);
}

TEST(rdb_reader, memory_stays_near_the_payload_limit_for_a_huge_value) {
  // A 64 MiB string in a file: streamed in pieces, never held.
  const std::size_t size = 64 << 20;
  std::string body = byte(0) + str("big") + len(size);
  body.append(size, 'b');
  const std::string file = rdb_file(body, 9);
  memory_source source(file);
  reader_options o;
  o.max_payload_bytes = 1 << 20;
  o.decode.piece_bytes = 256 << 10;
  file_reader reader(source, o);
  auto rec = reader.next();
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE((**rec).key.streamed);
  EXPECT_TRUE((**rec).key.payload.empty());
  std::uint64_t total = 0;
  std::size_t largest = 0;
  for (;;) {
    auto e = reader.next_value_event();
    ASSERT_TRUE(e.ok()) << e.error().message;
    if (*e == nullptr) break;
    if ((**e).type == event_type::string_piece) {
      total += (**e).data.size();
      largest = std::max(largest, (**e).data.size());
      EXPECT_EQ((**e).item_size, size);
    }
  }
  EXPECT_EQ(total, size);
  EXPECT_LE(largest, o.decode.piece_bytes);
  auto end = reader.next();
  ASSERT_TRUE(end.ok()) << end.error().message;
  EXPECT_EQ((**end).type, record_type::end);
  EXPECT_TRUE((**end).checksum_checked);
}

}  // namespace
}  // namespace ferry::protocol::rdb
