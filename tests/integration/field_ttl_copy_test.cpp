// Redis 7.4 hash-field expiries (HPEXPIRE): copied 7.4 -> 7.4 exactly, with every field's
// absolute expiry, by RESTORE (the payload carries them), by struct mode (HPEXPIRETIME ->
// HPEXPIREAT) and by struct mode in chunks (a big hash); into a target that cannot hold field
// expiries (Redis 6.2, Valkey 8) such a hash is not copied without them: it is reported failed,
// saying why, and every other key arrives. The oracle reads each field's HPEXPIRETIME on both
// servers itself (tests/support/keyspace does not read field expiries), beside the keyspace dump.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

/// Every field of every hash `keys` names, with its absolute expiry (-1: none), as
/// "key field=ms".
std::map<std::string, std::int64_t> field_expiries(sync_client& client,
                                                   const std::vector<std::string>& keys) {
  std::map<std::string, std::int64_t> out;
  for (const auto& key : keys) {
    const auto fields = client.checked({"HKEYS", key});
    std::vector<std::string> ask{"HPEXPIRETIME", key, "FIELDS",
                                 std::to_string(fields.elements.size())};
    for (const auto& f : fields.elements) ask.push_back(f.str);
    const auto times = client.checked(ask);
    EXPECT_EQ(times.elements.size(), fields.elements.size());
    for (std::size_t i = 0; i < fields.elements.size() && i < times.elements.size(); ++i) {
      out[key + " " + fields.elements[i].str] = times.elements[i].integer;
    }
  }
  return out;
}

/// `n` printable bytes that LZF cannot shrink (so that a DUMP is as large as the value).
std::string noise(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>('!' + rng() % 90);
  return s;
}

/// Hashes with field expiries (a small listpack one, a big hashtable one, one whose key expires
/// too, one where every field has one) and two without; returns the names of those with.
std::vector<std::string> fill_field_ttls(sync_client& client, std::int64_t now) {
  const std::string later = std::to_string(now + 3'600'000);
  const std::string soon = std::to_string(now + 1'800'000);
  client.checked({"HSET", "fttl:small", "a", "1", "b", "2", "c", "3"});
  client.checked({"HPEXPIREAT", "fttl:small", later, "FIELDS", "2", "a", "c"});
  std::mt19937_64 rng(7);
  std::vector<std::vector<std::string>> big;
  for (int i = 0; i < 600; ++i) {
    big.push_back({"HSET", "fttl:big", "field:" + std::to_string(i), noise(rng, 200)});
    if (i % 3 == 0) {
      big.push_back({"HPEXPIREAT", "fttl:big", std::to_string(now + 3'600'000 + i), "FIELDS", "1",
                     "field:" + std::to_string(i)});
    }
  }
  client.pipeline(big);
  client.checked({"HSET", "fttl:expiring", "x", "1", "y", "2"});
  client.checked({"HPEXPIREAT", "fttl:expiring", soon, "FIELDS", "1", "y"});
  client.checked({"PEXPIREAT", "fttl:expiring", later});
  client.checked({"HSET", "fttl:all", "p", "1", "q", "2"});
  client.checked({"HPEXPIREAT", "fttl:all", later, "FIELDS", "2", "p", "q"});
  client.checked({"HSET", "plain:small", "a", "1"});
  client.checked({"HSET", "plain:string-neighbour", "b", "2"});
  client.checked({"SET", "plain:string", "v"});
  return {"fttl:small", "fttl:big", "fttl:expiring", "fttl:all"};
}

class field_ttl_copy_test : public ::testing::Test {
 protected:
  temp_dir dir_{"fieldttl"};

  ferry_result copy(const redis_server& source, const redis_server& target,
                    std::vector<std::string> more = {}) const {
    std::vector<std::string> args{"copy",
                                  "--source",
                                  source.url(),
                                  "--target",
                                  target.url(),
                                  "--report",
                                  (dir_ / "report.json").string(),
                                  "--failed-keys",
                                  (dir_ / "failed.jsonl").string(),
                                  "--progress",
                                  "never"};
    args.insert(args.end(), more.begin(), more.end());
    return run_ferry(args, 120s);
  }
  nlohmann::json totals() const { return read_json(dir_ / "report.json")["totals"]; }

  /// 7.4 -> 7.4 with `more` flags: exact, every field expiry included.
  void expect_exact_with_field_ttls(const std::vector<std::string>& more, const std::string& method,
                                    const std::string& big_hash_reason = "") {
    FERRY_SKIP_UNLESS_SERVER("7.4");
    server_options v74;
    v74.version = "7.4";
    redis_server source(v74);
    redis_server target(v74);
    sync_client source_client = source.client();
    sync_client target_client = target.client();
    const auto with_ttls = fill_field_ttls(source_client, now_ms());
    const ferry_result run = copy(source, target, more);
    ASSERT_EQ(run.exit_code, 0) << run.output();
    EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");
    const auto want = field_expiries(source_client, with_ttls);
    EXPECT_EQ(want.size(), 3u + 600u + 2u + 2u);
    EXPECT_EQ(field_expiries(target_client, with_ttls), want);
    const auto t = totals();
    EXPECT_EQ(t["failed"], 0) << run.output();
    EXPECT_EQ(t["by_method"][method], t["copied"]) << run.output();
    if (!big_hash_reason.empty()) {
      EXPECT_EQ(t["struct_reasons"][big_hash_reason], 1) << run.output();
    }
  }
};

TEST_F(field_ttl_copy_test, restore_carries_field_expiries_between_7_4_servers) {
  expect_exact_with_field_ttls({}, "restore");
}

TEST_F(field_ttl_copy_test, struct_mode_carries_field_expiries_between_7_4_servers) {
  expect_exact_with_field_ttls({"--mode", "struct"}, "struct");
}

TEST_F(field_ttl_copy_test, struct_mode_in_chunks_carries_a_big_hashs_field_expiries) {
  // The big hash's payload (~120 KB) is over --big-key-bytes (64 KiB, its least): read and written
  // in chunks.
  expect_exact_with_field_ttls({"--mode", "struct", "--big-key-bytes", "64KiB"}, "struct",
                               "big_key");
}

class field_ttl_older_target : public field_ttl_copy_test,
                               public ::testing::WithParamInterface<std::string> {};

TEST_P(field_ttl_older_target, hashes_with_field_expiries_are_reported_not_copied_without) {
  FERRY_SKIP_UNLESS_SERVER("7.4");
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  server_options v74, older;
  v74.version = "7.4";
  older.version = GetParam();
  redis_server source(v74);
  redis_server target(older);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const auto with_ttls = fill_field_ttls(source_client, now_ms());
  const ferry_result run = copy(source, target);
  EXPECT_EQ(run.exit_code, 1) << run.output();
  const auto t = totals();
  EXPECT_EQ(t["failed"], with_ttls.size()) << run.output();
  EXPECT_EQ(t["copied"], 3) << run.output();
  const auto failed = read_json_lines(dir_ / "failed.jsonl");
  ASSERT_EQ(failed.size(), with_ttls.size());
  for (const auto& line : failed) {
    EXPECT_THAT(line["key"].get<std::string>(), ::testing::StartsWith("fttl:"));
    EXPECT_THAT(line["error"].get<std::string>(), HasSubstr("field expiries"));
    EXPECT_THAT(line["error"].get<std::string>(), HasSubstr("7.4"));
  }
  // None of them is on the target, not even without its expiries; the rest is.
  for (const auto& key : with_ttls) {
    EXPECT_EQ(target_client.checked({"EXISTS", key}).integer, 0) << key;
  }
  EXPECT_EQ(target_client.checked({"HGET", "plain:small", "a"}).str, "1");
  EXPECT_EQ(target_client.checked({"HGET", "plain:string-neighbour", "b"}).str, "2");
  EXPECT_EQ(target_client.checked({"GET", "plain:string"}).str, "v");
  EXPECT_EQ(target_client.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(targets, field_ttl_older_target, ::testing::Values("6.2", "valkey-8.0"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace ferry::testing
