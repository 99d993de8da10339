// The library against real servers' bytes (tests/data/rdb, written by generate.py from Redis 5.0,
// 6.2, 7.0, 7.4 and Valkey 8.0): every DUMP payload decodes to what the server's own type
// commands returned; every BGSAVE file is read key by key into payloads byte-identical to the
// server's DUMP; the same values streamed in small pieces decode the same.

#include <gtest/gtest.h>

#include <map>

#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/reader.hpp"
#include "tests/unit/rdb_support.hpp"

namespace ferry::protocol::rdb {
namespace {

using testing::decode_canonical;
using testing::fixture_versions;
using testing::load_fixture;

class rdb_fixtures : public ::testing::TestWithParam<std::string> {};

TEST_P(rdb_fixtures, every_payload_decodes_to_the_servers_value) {
  const auto keys = load_fixture(GetParam());
  ASSERT_GT(keys.size(), 30u) << "fixture missing: run tests/data/rdb/generate.py";
  for (const auto& k : keys) {
    SCOPED_TRACE(k.key + " (" + k.type + " " + k.encoding + ")");
    auto parsed = parse_payload(k.payload);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    const auto info = describe_type(parsed->type_id, parsed->version);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(kind_name(info->kind), k.type);
    EXPECT_EQ(decode_canonical(k.payload, testing::stream_v2_fields(GetParam())), k.items);
  }
}

TEST_P(rdb_fixtures, tiny_pieces_decode_the_same) {
  decode_options tiny;
  tiny.piece_bytes = 7;
  for (const auto& k : load_fixture(GetParam())) {
    SCOPED_TRACE(k.key);
    std::size_t pieces = 0;
    EXPECT_EQ(decode_canonical(k.payload, testing::stream_v2_fields(GetParam()), tiny, &pieces),
              k.items);
    if (k.key == "s:raw") {
      EXPECT_EQ(pieces, (512 + 6) / 7);
    }
  }
}

TEST_P(rdb_fixtures, the_bgsave_file_gives_the_dump_payloads) {
  const std::string file = testing::read_file(testing::fixtures_dir() / GetParam() / "dump.rdb");
  ASSERT_FALSE(file.empty());
  std::map<std::pair<std::uint64_t, std::string>, testing::fixture_key> expected;
  for (auto& k : load_fixture(GetParam())) expected[{k.db, k.key}] = k;
  memory_source source(file);
  file_reader reader(source);
  std::size_t keys = 0;
  bool ended = false;
  for (;;) {
    auto r = reader.next();
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (*r == nullptr) break;
    const record& rec = **r;
    if (rec.type == record_type::end) {
      EXPECT_TRUE(rec.checksum_checked);
      ended = true;
    }
    if (rec.type != record_type::key) continue;
    ++keys;
    const auto it = expected.find({rec.key.db, rec.key.key});
    ASSERT_NE(it, expected.end()) << rec.key.key;
    const auto& k = it->second;
    SCOPED_TRACE(k.key);
    EXPECT_FALSE(rec.key.streamed);
    EXPECT_EQ(testing::to_hex(rec.key.payload), testing::to_hex(k.payload));
    if (k.expire_ms == 0) {
      EXPECT_EQ(rec.key.expire_ms, 0);
    } else {
      EXPECT_NEAR(static_cast<double>(rec.key.expire_ms), static_cast<double>(k.expire_ms), 2000);
    }
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(keys, expected.size());
  EXPECT_EQ(reader.offset(), file.size());
}

TEST_P(rdb_fixtures, values_over_the_payload_limit_are_streamed_decoded) {
  const std::string file = testing::read_file(testing::fixtures_dir() / GetParam() / "dump.rdb");
  std::map<std::pair<std::uint64_t, std::string>, testing::fixture_key> expected;
  for (auto& k : load_fixture(GetParam())) expected[{k.db, k.key}] = k;
  memory_source source(file);
  reader_options options;
  options.max_payload_bytes = 40;  // most values are larger: they come as events
  options.decode.piece_bytes = 5;
  options.buffer_bytes = 17;  // refills in the middle of everything
  file_reader reader(source, options);
  std::size_t streamed = 0;
  for (;;) {
    auto r = reader.next();
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (*r == nullptr) break;
    const record& rec = **r;
    if (rec.type != record_type::key) continue;
    const auto& k = expected.at({rec.key.db, rec.key.key});
    SCOPED_TRACE(k.key);
    if (!rec.key.streamed) {
      EXPECT_EQ(rec.key.payload, k.payload);
      continue;
    }
    ++streamed;
    testing::canonical_builder b(testing::stream_v2_fields(GetParam()));
    for (;;) {
      auto e = reader.next_value_event();
      ASSERT_TRUE(e.ok()) << e.error().message;
      if (*e == nullptr) break;
      b.add(**e);
    }
    EXPECT_TRUE(b.ended());
    EXPECT_EQ(b.items(), k.items);
  }
  EXPECT_GE(streamed, 10u);
}

TEST_P(rdb_fixtures, streamed_values_left_unread_are_skipped) {
  const std::string file = testing::read_file(testing::fixtures_dir() / GetParam() / "dump.rdb");
  memory_source source(file);
  reader_options options;
  options.max_payload_bytes = 40;
  file_reader reader(source, options);
  std::size_t keys = 0;
  for (;;) {
    auto r = reader.next();
    ASSERT_TRUE(r.ok()) << r.error().message;
    if (*r == nullptr) break;
    if ((**r).type == record_type::key) ++keys;
  }
  EXPECT_EQ(keys, load_fixture(GetParam()).size());
}

TEST_P(rdb_fixtures, a_resumed_read_reports_only_the_keys_after_the_offset) {
  const std::string file = testing::read_file(testing::fixtures_dir() / GetParam() / "dump.rdb");
  std::vector<std::pair<std::uint64_t, std::string>> all;  // (offset, key)
  std::vector<std::uint64_t> dbs;
  {
    memory_source source(file);
    file_reader reader(source);
    for (auto r = reader.next(); r.ok() && *r != nullptr; r = reader.next()) {
      if ((**r).type == record_type::key) {
        all.emplace_back((**r).key.offset, (**r).key.key);
        dbs.push_back((**r).key.db);
      }
    }
  }
  ASSERT_GT(all.size(), 10u);
  const std::size_t half = all.size() / 2;
  memory_source source(file);
  reader_options options;
  options.skip_keys_before = all[half].first;
  file_reader reader(source, options);
  std::vector<std::string> got;
  for (auto r = reader.next(); r.ok() && *r != nullptr; r = reader.next()) {
    if ((**r).type == record_type::key) {
      got.push_back((**r).key.key);
      EXPECT_EQ((**r).key.db, dbs[half + got.size() - 1]);
    }
    if ((**r).type == record_type::end) {
      EXPECT_TRUE((**r).checksum_checked);
    }
  }
  std::vector<std::string> want;
  for (std::size_t i = half; i < all.size(); ++i) want.push_back(all[i].second);
  EXPECT_EQ(got, want);
}

TEST_P(rdb_fixtures, functions_and_aux_fields_are_reported) {
  const std::string file = testing::read_file(testing::fixtures_dir() / GetParam() / "dump.rdb");
  memory_source source(file);
  file_reader reader(source);
  std::map<std::string, std::string> aux;
  std::vector<std::string> functions;
  std::vector<std::uint64_t> dbs;
  for (auto r = reader.next(); r.ok() && *r != nullptr; r = reader.next()) {
    if ((**r).type == record_type::aux) aux[(**r).name] = (**r).value;
    if ((**r).type == record_type::function) functions.push_back((**r).value);
    if ((**r).type == record_type::select_db) dbs.push_back((**r).db);
  }
  EXPECT_TRUE(aux.count("redis-ver") || aux.count("valkey-ver"));
  EXPECT_EQ(aux["redis-bits"], "64");
  EXPECT_EQ(dbs, (std::vector<std::uint64_t>{0, 1}));
  const bool has_functions = GetParam() != "5.0" && GetParam() != "6.2";
  ASSERT_EQ(functions.size(), has_functions ? 1u : 0u);
  if (has_functions) {
    EXPECT_NE(functions[0].find("ferry_hello"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(servers, rdb_fixtures, ::testing::ValuesIn(fixture_versions()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (c == '.' || c == '-') c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace ferry::protocol::rdb
