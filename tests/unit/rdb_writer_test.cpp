// The file writer: a file written from real servers' DUMP payloads reads back with the same
// keys, payloads, expiries, databases and functions, and a valid CRC; payloads newer than the
// file are rewritten only where that is exact, otherwise refused; sink failures are reported.

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/reader.hpp"
#include "protocol/rdb/writer.hpp"
#include "tests/unit/rdb_build.hpp"
#include "tests/unit/rdb_support.hpp"

namespace ferry::protocol::rdb {
namespace {

using namespace testing;

std::uint16_t version_of(const std::string& payload) { return parse_payload(payload)->version; }

TEST(rdb_writer, a_written_file_reads_back_exactly) {
  for (const std::string& server : fixture_versions()) {
    SCOPED_TRACE(server);
    const auto keys = load_fixture(server);
    const std::uint16_t v = version_of(keys.front().payload);
    std::string file;
    string_sink sink(file);
    writer_options o;
    o.version = v;
    file_writer w(sink, o);
    if (v >= 10) {
      ASSERT_TRUE(
          w.function("#!lua name=x\nredis.register_function('f', function() return 1 end)"));
    }
    std::map<std::uint64_t, std::vector<const fixture_key*>> by_db;
    for (const auto& k : keys) by_db[k.db].push_back(&k);
    for (const auto& [db, list] : by_db) {
      ASSERT_TRUE(w.begin_db(db, list.size(), 0));
      for (const fixture_key* k : list) {
        auto r = w.key(k->key, k->payload, k->expire_ms);
        ASSERT_TRUE(r.ok()) << r.error().message;
      }
    }
    ASSERT_TRUE(w.finish());
    EXPECT_EQ(w.keys_written(), keys.size());
    EXPECT_EQ(w.bytes_written(), file.size());

    memory_source source(file);
    file_reader reader(source);
    std::size_t seen = 0;
    bool ended = false;
    std::map<std::string, std::string> aux;
    for (;;) {
      auto r = reader.next();
      ASSERT_TRUE(r.ok()) << r.error().message;
      if (*r == nullptr) break;
      const record& rec = **r;
      if (rec.type == record_type::aux) aux[rec.name] = rec.value;
      if (rec.type == record_type::end) {
        ended = true;
        EXPECT_TRUE(rec.checksum_checked);
      }
      if (rec.type != record_type::key) continue;
      const auto it = std::find_if(keys.begin(), keys.end(), [&](const fixture_key& k) {
        return k.key == rec.key.key && k.db == rec.key.db;
      });
      ASSERT_NE(it, keys.end());
      EXPECT_EQ(rec.key.payload, it->payload);  // same version: byte-identical
      EXPECT_EQ(rec.key.expire_ms, it->expire_ms);
      ++seen;
    }
    EXPECT_TRUE(ended);
    EXPECT_EQ(seen, keys.size());
    EXPECT_EQ(aux["redis-bits"], "64");
    EXPECT_TRUE(aux.count("ctime"));
  }
}

TEST(rdb_writer, newer_payloads_go_in_only_where_exact) {
  std::string file;
  string_sink sink(file);
  writer_options o;
  o.version = 10;  // Redis 7.0
  file_writer w(sink, o);
  std::size_t accepted = 0;
  std::size_t refused = 0;
  for (const auto& k : load_fixture("7.4")) {
    auto r = w.key(k.key, k.payload, k.expire_ms);
    const auto p = *parse_payload(k.payload);
    if (describe_type(p.type_id, 10)) {
      ASSERT_TRUE(r.ok()) << r.error().message;
      ++accepted;
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, errc::version_refused);
      EXPECT_NE(r.error().message.find("--rdb-version"), std::string::npos);
      ++refused;
    }
  }
  EXPECT_GT(accepted, 20u);
  EXPECT_GE(refused, 3u);  // set listpack (7.2), stream v3 (7.2), field-TTL hashes (7.4)
  ASSERT_TRUE(w.finish());
  memory_source source(file);
  file_reader reader(source);
  std::size_t keys = 0;
  for (auto r = reader.next(); r.ok() && *r != nullptr; r = reader.next()) {
    if ((**r).type == record_type::key) {
      ++keys;
      EXPECT_EQ(version_of((**r).key.payload), 10);
    }
  }
  EXPECT_EQ(keys, accepted);
}

TEST(rdb_writer, functions_need_rdb_10_and_function_dumps_are_split) {
  std::string file;
  string_sink sink(file);
  writer_options old;
  old.version = 9;
  file_writer w9(sink, old);
  auto r = w9.function("code");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::version_refused);

  std::string out;
  string_sink sink2(out);
  file_writer w(sink2, writer_options{});
  // FUNCTION DUMP: FUNCTION2 records, then the trailer.
  const std::string lib1 = "#!lua name=a\nredis.register_function('fa', function() return 1 end)";
  const std::string lib2(300, 'x');
  std::string body = str(lib1) + byte(opcode::function2) + str(lib2);
  const std::string dump = make_payload(opcode::function2, body, 10);
  ASSERT_TRUE(w.function_dump(dump));
  ASSERT_TRUE(w.finish());
  memory_source source(out);
  file_reader reader(source);
  std::vector<std::string> libs;
  for (auto rec = reader.next(); rec.ok() && *rec != nullptr; rec = reader.next()) {
    if ((**rec).type == record_type::function) libs.push_back((**rec).value);
  }
  EXPECT_EQ(libs, (std::vector<std::string>{lib1, lib2}));
}

class failing_sink : public byte_sink {
 public:
  void write(const char*, std::size_t size) override {
    if ((written_ += size) > 20) throw std::runtime_error("disk full");
  }

 private:
  std::size_t written_ = 0;
};

TEST(rdb_writer, sink_failures_are_reported) {
  failing_sink sink;
  file_writer w(sink, writer_options{});
  auto r = w.key("k", make_payload(type::string, str("value"), 11));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::io_failed);
  EXPECT_NE(r.error().message.find("disk full"), std::string::npos);
  EXPECT_FALSE(w.finish().ok());
}

TEST(rdb_writer, valkey_9_files_get_their_magic) {
  std::string out;
  string_sink sink(out);
  writer_options o;
  o.version = 80;
  file_writer w(sink, o);
  ASSERT_TRUE(
      w.key("h", make_payload(type::valkey_hash_2, len(1) + str("f") + str("v") + le(99, 8), 80)));
  ASSERT_TRUE(w.finish());
  EXPECT_EQ(out.substr(0, 9), "VALKEY080");
  memory_source source(out);
  file_reader reader(source);
  auto rec = reader.next();
  for (; rec.ok() && *rec != nullptr && (**rec).type != record_type::key; rec = reader.next()) {
  }
  ASSERT_TRUE(rec.ok());
  ASSERT_NE(*rec, nullptr);
  EXPECT_EQ((**rec).key.key, "h");
  file_writer bad(sink, writer_options{.version = 40});
  EXPECT_FALSE(bad.finish().ok());
}

}  // namespace
}  // namespace ferry::protocol::rdb
