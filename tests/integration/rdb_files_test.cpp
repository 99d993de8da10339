// The RDB library against real servers of every version here (Redis 5.0, 6.2, 7.0, 7.4, Valkey
// 8.0; each skipped with a printed line when its build is absent). Per version: a BGSAVE file of
// a mixed dataset (the committed fixture's keys of every type and encoding, plus the harness's
// fill_every_type where the version has its commands) is read; every payload the reader builds
// RESTOREs on a fresh server of the same version, and a file written by ferry's writer loads in
// one: DEBUG DIGEST equal to the source's both times. Truncated and damaged copies are refused.
// Downgrades: 7.4's and Valkey 8's payloads rewritten for each older server RESTORE there with
// the same DEBUG DIGEST-VALUE, and those left to struct mode really are refused by it.

#include <gtest/gtest.h>

#if __has_include("tests/support/server_versions.hpp")

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/reader.hpp"
#include "protocol/rdb/writer.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace rdb = protocol::rdb;

std::filesystem::path fixture_rdb(const std::string& version) {
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "rdb" / version /
         "dump.rdb";
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct file_contents {
  std::vector<rdb::key_entry> keys;
  std::vector<std::string> functions;
  std::uint16_t version = 0;
  bool checksum_checked = false;
  std::optional<rdb::error> failure;
};

file_contents read_rdb(const std::string& bytes, rdb::reader_options options = {}) {
  rdb::memory_source source(bytes);
  rdb::file_reader reader(source, options);
  file_contents out;
  for (;;) {
    auto r = reader.next();
    if (!r) {
      out.failure = r.error();
      return out;
    }
    if (*r == nullptr) break;
    const rdb::record& rec = **r;
    if (rec.type == rdb::record_type::key) {
      out.keys.push_back(rec.key);
      if (rec.key.streamed) {
        for (auto e = reader.next_value_event(); e.ok() && *e != nullptr;
             e = reader.next_value_event()) {
        }
      }
    }
    if (rec.type == rdb::record_type::function) out.functions.push_back(rec.value);
    if (rec.type == rdb::record_type::end) out.checksum_checked = rec.checksum_checked;
  }
  out.version = reader.header().version;
  return out;
}

std::int64_t db_keys(sync_client& c, int db) {
  c.checked({"SELECT", std::to_string(db)});
  const std::int64_t n = c.checked({"DBSIZE"}).integer;
  c.checked({"SELECT", "0"});
  return n;
}

// RESTOREs every key (and loads every function) into `target`.
void restore_all(sync_client& target, const file_contents& file) {
  for (const std::string& code : file.functions) {
    expect_ok_reply(target.command({"FUNCTION", "LOAD", code}), "FUNCTION LOAD");
  }
  std::uint64_t db = 0;
  for (const rdb::key_entry& k : file.keys) {
    if (k.db != db) {
      target.checked({"SELECT", std::to_string(k.db)});
      db = k.db;
    }
    ASSERT_FALSE(k.streamed);
    const reply r = target.command(
        {"RESTORE", k.key, std::to_string(k.expire_ms), k.payload, "ABSTTL", "REPLACE"});
    ASSERT_TRUE(r.is_ok()) << printable(k.key) << ": " << r.str;
  }
  target.checked({"SELECT", "0"});
}

// A server of `version` holding the fixture's keys plus fill_every_type where it runs.
std::unique_ptr<redis_server> source_server(const std::string& version) {
  server_options o;
  o.version = version;
  o.rdb_file = fixture_rdb(version);
  auto server = std::make_unique<redis_server>(o);
  if (server->build().at_least(6, 2) && server->build().has_redis7_commands()) {
    sync_client c = server->client();
    dataset_options d;
    d.key_prefix = "fill:";
    d.count_per_kind = 5;
    d.big_per_kind = 1;
    fill_every_type(c, d);
  }
  return server;
}

class rdb_files : public ::testing::TestWithParam<std::string> {};

TEST_P(rdb_files, bgsave_read_restore_write_load) {
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  auto source = source_server(GetParam());
  sync_client src = source->client();
  const std::string digest = debug_digest(src);
  const std::int64_t keys = db_keys(src, 0) + db_keys(src, 1);
  ASSERT_GT(keys, 20);
  const std::string file = slurp(source->save_rdb());

  // The reader: every key, the checksum verified, payloads of the server's own version.
  const file_contents contents = read_rdb(file);
  ASSERT_FALSE(contents.failure) << contents.failure->message;
  EXPECT_TRUE(contents.checksum_checked);
  EXPECT_EQ(static_cast<std::int64_t>(contents.keys.size()), keys);
  EXPECT_EQ(contents.version, source->build().rdb_version());

  // Its payloads RESTORE on a fresh server of the same version: the same dataset.
  {
    server_options o;
    o.version = GetParam();
    redis_server target(o);
    sync_client t = target.client();
    restore_all(t, contents);
    EXPECT_EQ(debug_digest(t), digest);
  }

  // The writer's file loads in redis-server: the same dataset, and the functions.
  temp_dir dir("rdb-writer");
  {
    std::string out;
    rdb::string_sink sink(out);
    rdb::writer_options w;
    w.version = contents.version;
    rdb::file_writer writer(sink, w);
    for (const std::string& code : contents.functions) ASSERT_TRUE(writer.function(code));
    std::map<std::uint64_t, std::vector<const rdb::key_entry*>> by_db;
    for (const auto& k : contents.keys) by_db[k.db].push_back(&k);
    for (const auto& [db, list] : by_db) {
      ASSERT_TRUE(writer.begin_db(db, list.size()));
      for (const rdb::key_entry* k : list) {
        auto r = writer.key(k->key, k->payload, k->expire_ms);
        ASSERT_TRUE(r.ok()) << r.error().message;
      }
    }
    ASSERT_TRUE(writer.finish());
    spit(dir / "ferry.rdb", out);
  }
  server_options o;
  o.version = GetParam();
  o.rdb_file = dir / "ferry.rdb";
  redis_server loaded(o);
  sync_client l = loaded.client();
  EXPECT_EQ(debug_digest(l), digest);
  if (source->build().has_redis7_commands()) {
    EXPECT_EQ(l.checked({"FUNCTION", "LIST"}).elements.size(), contents.functions.size());
    EXPECT_FALSE(contents.functions.empty());
  }

  // Every value streamed through the decoder instead (a payload limit of 64 bytes) reads too.
  rdb::reader_options tiny;
  tiny.max_payload_bytes = 64;
  const file_contents streamed = read_rdb(file, tiny);
  ASSERT_FALSE(streamed.failure) << streamed.failure->message;
  EXPECT_EQ(streamed.keys.size(), contents.keys.size());

  // A cut file and a damaged one are refused, saying so.
  const file_contents cut = read_rdb(file.substr(0, file.size() * 2 / 3));
  ASSERT_TRUE(cut.failure);
  EXPECT_EQ(cut.failure->code, rdb::errc::truncated);
  EXPECT_NE(cut.failure->message.find("truncated"), std::string::npos) << cut.failure->message;
  std::string damaged = file;
  damaged[damaged.size() - 20] ^= 0x01;
  const file_contents bad = read_rdb(damaged);
  ASSERT_TRUE(bad.failure);
  EXPECT_NE(bad.failure->message.find("CRC64"), std::string::npos) << bad.failure->message;
}

INSTANTIATE_TEST_SUITE_P(versions, rdb_files, ::testing::ValuesIn(known_server_versions()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n) {
                             if (c == '.' || c == '-') c = '_';
                           }
                           return n;
                         });

struct downgrade_case {
  std::string source;
  std::string target;
};

// The server's own account of a key's value: DEBUG DIGEST-VALUE, except for zsets, whose
// digest mixes in the score's text and Redis 7.2 changed how scores print: for them ZRANGE
// WITHSCORES with each score read back as the double it denotes.
std::string value_of(sync_client& c, const rdb::key_entry& k) {
  if (k.kind != rdb::value_kind::zset)
    return to_string(c.checked({"DEBUG", "DIGEST-VALUE", k.key}));
  const reply r = c.checked({"ZRANGE", k.key, "0", "-1", "WITHSCORES"});
  std::string out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out += fmt::format("{} {}\n", printable(r[i].str), std::strtod(r[i + 1].str.c_str(), nullptr));
  }
  return out;
}

class rdb_downgrade : public ::testing::TestWithParam<downgrade_case> {};

TEST_P(rdb_downgrade, rewritten_payloads_restore_on_the_older_server) {
  FERRY_SKIP_UNLESS_SERVER(GetParam().source);
  FERRY_SKIP_UNLESS_SERVER(GetParam().target);
  auto source = source_server(GetParam().source);
  sync_client src = source->client();
  const file_contents contents = read_rdb(slurp(source->save_rdb()));
  ASSERT_FALSE(contents.failure) << contents.failure->message;

  server_options o;
  o.version = GetParam().target;
  redis_server target(o);
  sync_client t = target.client();
  const auto target_version = static_cast<std::uint16_t>(target.build().rdb_version());
  std::size_t rewritten = 0;
  std::size_t structural = 0;
  for (const rdb::key_entry& k : contents.keys) {
    SCOPED_TRACE(printable(k.key));
    src.checked({"SELECT", std::to_string(k.db)});
    t.checked({"SELECT", std::to_string(k.db)});
    std::string payload = k.payload;
    auto d = rdb::downgrade_payload(payload, target_version);
    ASSERT_TRUE(d.ok()) << d.error().message;
    // Without a rewrite the older server refuses every payload of a newer version.
    const reply as_is = t.command({"RESTORE", k.key, "0", k.payload, "REPLACE"});
    ASSERT_TRUE(as_is.is_error());
    EXPECT_NE(as_is.str.find("version"), std::string::npos) << as_is.str;
    if (d->verdict == rdb::downgrade_verdict::rewritten) {
      ++rewritten;
      // With the key's expiry: DEBUG DIGEST-VALUE mixes in whether the key has one.
      const reply r =
          t.command({"RESTORE", k.key, std::to_string(k.expire_ms), payload, "ABSTTL", "REPLACE"});
      ASSERT_TRUE(r.is_ok()) << r.str;
      EXPECT_EQ(value_of(t, k), value_of(src, k));
    } else {
      ASSERT_EQ(d->verdict, rdb::downgrade_verdict::needs_struct);
      ++structural;
      // Forcing the older version into the trailer does not make it readable: struct mode is
      // the only way.
      auto parsed = rdb::parse_payload(k.payload);
      const std::string forced = rdb::make_payload(parsed->type_id, parsed->value, target_version);
      const reply r = t.command({"RESTORE", k.key, "0", forced, "REPLACE"});
      EXPECT_TRUE(r.is_error()) << "type " << int(parsed->type_id) << " loaded on "
                                << target.build().description();
    }
  }
  src.checked({"SELECT", "0"});
  std::printf("%s -> %s: %zu payloads rewritten exactly, %zu left to struct mode\n",
              source->build().description().c_str(), target.build().description().c_str(),
              rewritten, structural);
  EXPECT_GT(rewritten, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    pairs, rdb_downgrade,
    ::testing::Values(downgrade_case{"7.4", "7.0"}, downgrade_case{"7.4", "6.2"},
                      downgrade_case{"7.4", "valkey-8.0"}, downgrade_case{"7.4", "5.0"},
                      downgrade_case{"valkey-8.0", "7.0"}, downgrade_case{"7.0", "6.2"}),
    [](const auto& param_info) {
      std::string n = param_info.param.source + "_to_" + param_info.param.target;
      for (char& c : n) {
        if (c == '.' || c == '-') c = '_';
      }
      return n;
    });

}  // namespace
}  // namespace ferry::testing

#else  // the harness cannot start servers of other versions yet

TEST(rdb_files, needs_the_versioned_harness) {
  GTEST_SKIP() << "skipped: tests/support/server_versions.hpp (servers of other versions) is not "
                  "in this tree yet";
}

#endif
