// The importer's pure pieces: the target's RDB version from INFO server, record batches built
// from a file's keys (views into one buffer, large payloads moved), the file ledger's offsets,
// gzip in both directions (concatenated members, truncated and damaged streams), function
// payloads that parse as FUNCTION DUMP's, and the file fingerprint of a state file.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <string>

#include "engine/import/batch_builder.hpp"
#include "engine/import/file_ledger.hpp"
#include "engine/import/function_restore.hpp"
#include "engine/import/import_feed.hpp"
#include "engine/import/rdb_io.hpp"
#include "engine/import/target_version.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/source.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {
namespace {

namespace rdb = protocol::rdb;

std::string info(std::string_view fields) {
  return "# Server\r\n" + std::string(fields) + "\r\nos:Linux\r\n";
}

TEST(import_target_version, redis_versions_map_to_their_rdb_versions) {
  const std::pair<const char*, std::uint16_t> table[] = {
      {"redis_version:2.8.24", 6}, {"redis_version:3.2.12", 7}, {"redis_version:4.0.14", 8},
      {"redis_version:5.0.14", 9}, {"redis_version:6.2.16", 9}, {"redis_version:7.0.15", 10},
      {"redis_version:7.2.5", 11}, {"redis_version:7.4.1", 12}, {"redis_version:8.0.2", 12},
  };
  for (const auto& [fields, version] : table) {
    SCOPED_TRACE(fields);
    EXPECT_EQ(server_rdb_version(info(fields)), version);
  }
}

TEST(import_target_version, valkey_is_read_by_its_own_version) {
  // Valkey 8 says redis_version 7.2.4 to clients, and writes RDB 11; Valkey 9 writes 80.
  EXPECT_EQ(server_rdb_version(info("redis_version:7.2.4\r\nserver_name:valkey\r\n"
                                    "valkey_version:8.0.1")),
            11);
  EXPECT_EQ(server_rdb_version(info("redis_version:7.2.4\r\nvalkey_version:9.0.0")), 80);
  EXPECT_EQ(server_description(info("redis_version:7.2.4\r\nvalkey_version:8.0.1")),
            "Valkey 8.0.1");
  EXPECT_EQ(server_description(info("redis_version:7.4.1")), "Redis 7.4.1");
}

TEST(import_target_version, newer_or_hidden_versions_send_payloads_as_they_are) {
  EXPECT_FALSE(server_rdb_version(info("redis_version:8.2.0")));
  EXPECT_FALSE(server_rdb_version(info("redis_version:9.0.0")));
  EXPECT_FALSE(server_rdb_version(info("valkey_version:10.0.0")));
  EXPECT_FALSE(server_rdb_version(info("")));
  EXPECT_EQ(server_description(""), "an unknown server");
}

TEST(import_batch_builder, records_view_the_keys_and_payloads_they_were_given) {
  batch_builder builder(/*own_buffer_bytes=*/100);
  std::string small = "payload-1";
  std::string large(1000, 'x');
  const char* large_data = large.data();
  builder.add("key:1", small, 0);
  builder.add("{tag}key:2", large, 1'700'000'000'000);
  EXPECT_EQ(builder.keys(), 2u);
  EXPECT_EQ(builder.bytes(), 5 + 9 + 10 + 1000u);
  EXPECT_EQ(small, "payload-1");  // small payloads are copied
  const record_batch batch = builder.seal(7);
  EXPECT_EQ(batch.scan_seq, 7u);
  EXPECT_EQ(batch.charged_bytes, 5 + 9 + 10 + 1000u);
  ASSERT_EQ(batch.records.size(), 2u);
  EXPECT_EQ(batch.records[0].key.view(), "key:1");
  EXPECT_EQ(batch.records[0].payload.view(), "payload-1");
  EXPECT_EQ(batch.records[0].expire_at_ms, 0);
  EXPECT_EQ(batch.records[0].slot, protocol::key_slot("key:1"));
  EXPECT_EQ(batch.records[1].key.view(), "{tag}key:2");
  EXPECT_EQ(batch.records[1].payload.size(), 1000u);
  EXPECT_EQ(batch.records[1].payload.data(), large_data);  // moved, not copied
  EXPECT_EQ(batch.records[1].expire_at_ms, 1'700'000'000'000);
  EXPECT_EQ(batch.records[1].slot, protocol::key_slot("tag"));
  EXPECT_EQ(batch.records[0].key.owner(), batch.records[0].payload.owner());  // one buffer
  EXPECT_EQ(builder.keys(), 0u);
  EXPECT_EQ(builder.bytes(), 0u);
}

TEST(import_batch_builder, many_batches_keep_their_own_bytes) {
  batch_builder builder;
  std::vector<record_batch> batches;
  for (int b = 0; b < 3; ++b) {
    for (int k = 0; k < 500; ++k) {
      std::string payload = fmt::format("value-{}-{}", b, k);
      builder.add(fmt::format("k{}", b * 1000 + k), payload, 0);
    }
    batches.push_back(builder.seal(static_cast<std::uint64_t>(b)));
  }
  for (int b = 0; b < 3; ++b) {
    ASSERT_EQ(batches[b].records.size(), 500u);
    for (int k = 0; k < 500; k += 97) {
      EXPECT_EQ(batches[b].records[k].key.view(), fmt::format("k{}", b * 1000 + k));
      EXPECT_EQ(batches[b].records[k].payload.view(), fmt::format("value-{}-{}", b, k));
    }
  }
}

TEST(import_file_ledger, an_offset_is_committed_once_every_batch_before_it_is_settled) {
  file_ledger ledger(0, {});
  ledger.opened(0, 1000, 10);
  ledger.opened(1, 2000, 10);
  ledger.opened(2, 0, 5);  // the last batch of the file
  counts written;
  written.copied = 10;
  ledger.settled(1, written);
  EXPECT_EQ(ledger.position().cursor, 0u);  // batch 0 is still open
  EXPECT_FALSE(ledger.position().complete);
  ledger.settled(0, written);
  EXPECT_EQ(ledger.position().cursor, 2000u);
  EXPECT_EQ(ledger.position().done.copied, 20u);
  EXPECT_EQ(ledger.position().done.scanned, 20u);
  counts last;
  last.copied = 4;
  last.vanished = 1;  // an expired key, settled by the feed
  ledger.settled(2, last);
  EXPECT_TRUE(ledger.position().complete);
  EXPECT_EQ(ledger.position().done.copied, 24u);
  EXPECT_EQ(ledger.position().done.vanished, 1u);
  EXPECT_EQ(ledger.position().done.scanned, 25u);
}

TEST(import_file_ledger, a_resumed_ledger_starts_from_its_offset_and_counts) {
  counts before;
  before.scanned = before.copied = 100;
  file_ledger ledger(5000, before);
  EXPECT_EQ(ledger.position().cursor, 5000u);
  ledger.opened(0, 0, 3);
  counts tally;
  tally.copied = 3;
  ledger.settled(0, tally);
  EXPECT_TRUE(ledger.position().complete);
  EXPECT_EQ(ledger.position().done.copied, 103u);
}

std::string gzip(const std::string& text, int level = 6) {
  std::string out;
  rdb::string_sink sink(out);
  gzip_sink z(sink, level);
  z.write(text.data(), text.size());
  z.finish();
  return out;
}

std::string gunzip(const std::string& compressed, std::size_t piece = 4096) {
  rdb::memory_source source(compressed);
  gzip_source z(source, "test.rdb.gz");
  std::string out;
  std::string buffer(piece, '\0');
  for (;;) {
    const std::size_t n = z.read(buffer.data(), buffer.size());
    if (n == 0) return out;
    out.append(buffer, 0, n);
  }
}

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::string text(n, '\0');
  for (auto& c : text) c = static_cast<char>(random() % 16 + 'a');  // compressible
  return text;
}

TEST(import_gzip, round_trips_in_pieces_of_any_size) {
  const std::string text = random_text(3'000'000, 1);
  const std::string compressed = gzip(text);
  // 16 letters at random hold 4 bits a byte: deflate reaches about 57 %, never below 50 %.
  EXPECT_LT(compressed.size(), text.size() * 2 / 3);
  EXPECT_EQ(compressed.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(gunzip(compressed), text);
  const std::string small = random_text(20'000, 9);
  EXPECT_EQ(gunzip(gzip(small), 1), small);
  EXPECT_EQ(gunzip(gzip(small), 7), small);
  EXPECT_EQ(gunzip(gzip("")), "");
}

TEST(import_gzip, concatenated_members_read_as_one_stream) {
  const std::string a = random_text(100'000, 2), b = random_text(50'000, 3);
  EXPECT_EQ(gunzip(gzip(a, 1) + gzip(b, 9)), a + b);
}

TEST(import_gzip, a_truncated_stream_is_an_error_naming_the_file) {
  const std::string compressed = gzip(random_text(500'000, 4));
  for (std::size_t cut : {std::size_t{5}, compressed.size() / 2, compressed.size() - 1}) {
    SCOPED_TRACE(cut);
    try {
      gunzip(compressed.substr(0, cut));
      ADD_FAILURE() << "a cut gzip stream was read to its end";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("test.rdb.gz"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
  }
}

TEST(import_gzip, damaged_data_is_an_error) {
  std::string compressed = gzip(random_text(200'000, 5));
  for (std::size_t i = 100; i < 200; ++i) compressed[i] = static_cast<char>(compressed[i] ^ 0x5a);
  EXPECT_THROW(gunzip(compressed), std::runtime_error);
}

TEST(import_functions, a_library_payload_parses_as_a_function_dump) {
  const std::string code =
      "#!lua name=mylib\nredis.register_function('f', function() return 1 end)";
  const std::string payload = function_payload(code, 10);
  const auto parsed = rdb::parse_payload(payload);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->version, 10);
  EXPECT_EQ(parsed->type_id, rdb::opcode::function2);
  // A long library takes the 4-byte length form.
  const std::string big = "#!lua name=big\n" + std::string(20'000, '-');
  const auto parsed_big = rdb::parse_payload(function_payload(big, 11));
  ASSERT_TRUE(parsed_big);
  EXPECT_EQ(parsed_big->body.size(), 1 + 5 + big.size());
}

TEST(import_file_identity, the_fingerprint_names_version_aux_fields_and_size) {
  file_identity a;
  a.magic = "REDIS";
  a.version = 11;
  a.aux = {{"ctime", "1700000000"}, {"redis-ver", "7.2.4"}};
  a.size = 1234;
  EXPECT_EQ(a.fingerprint(), "REDIS 11; ctime=1700000000; redis-ver=7.2.4; size=1234");
  file_identity b = a;
  b.aux["ctime"] = "1700000001";
  EXPECT_NE(a.fingerprint(), b.fingerprint());
  b = a;
  b.size = 0;  // stdin
  EXPECT_EQ(b.fingerprint(), "REDIS 11; ctime=1700000000; redis-ver=7.2.4");
}

}  // namespace
}  // namespace ferry::engine
