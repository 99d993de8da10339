// Struct mode for `ferry import`: keys RESTORE cannot carry are written with type commands from
// the file's decoded values. Into a target with RESTORE renamed away (standalone and a 3-master
// cluster): every key of a BGSAVE file of every type and encoding, exact, with one warning. A
// Redis 7.4 file (hash-field expiries, every type) into Redis 6.2 and Valkey 8: exact except the
// keys that cannot be carried (hashes with field expiries), each reported with its reason. Big
// values (a 40 MB hash and a 30 MB string) over --big-key-bytes, streamed by the reader to struct
// mode in chunks: exact, ferry's peak RSS bounded. The oracle is tests/support/keyspace's dump
// (types, values, absolute expiries, streams' groups and pending entries) and DEBUG DIGEST where
// the versions agree, never ferry's counters. And an import SIGKILLed while a big value is
// half-built under its temporary key, resumed: exact, no temporary key left.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "engine/runtime/key_text.hpp"
#include "tests/integration/import_support.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// AddressSanitizer's allocator keeps freed memory for itself, so RSS says nothing there (the
// Release run of tests/run.sh measures it).
#if defined(__SANITIZE_ADDRESS__)
constexpr long rss_limit_kb = 1L << 30;
#else
constexpr long rss_limit_kb = 96 * 1024;
#endif

class import_struct_test : public ::testing::Test {
 protected:
  temp_dir dir_{"import-struct"};

  ferry_result import(const std::filesystem::path& file, const std::string& target,
                      std::vector<std::string> more = {}) const {
    std::vector<std::string> args{"import",        file.string(),
                                  "--target",      target,
                                  "--report",      (dir_ / "report.json").string(),
                                  "--failed-keys", (dir_ / "failed.jsonl").string(),
                                  "--progress",    "never"};
    args.insert(args.end(), more.begin(), more.end());
    return run_ferry(args, 300s);
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }

  /// A BGSAVE file of `source`, copied into the test's folder.
  std::filesystem::path saved(redis_server& source) const {
    const auto file = dir_ / "dump.rdb";
    std::filesystem::remove(file);
    std::filesystem::copy_file(source.save_rdb(), file);
    return file;
  }
};

std::size_t count_containing(const nlohmann::json& warnings, std::string_view text) {
  std::size_t n = 0;
  for (const auto& w : warnings) n += w.get<std::string>().find(text) != std::string::npos;
  return n;
}

std::size_t temp_keys(sync_client& c) { return c.command({"KEYS", "ferry:tmp:*"}).elements.size(); }

TEST_F(import_struct_test, a_target_without_restore_gets_every_key_by_type_commands) {
  redis_server source;
  sync_client src = source.client();
  const fill_result filled = fill_every_type(src);
  fill_strings(src, 2'000, 100, 5);
  const std::uint64_t keys = filled.keys + 2'000;
  const auto file = saved(source);
  server_options no_restore;
  no_restore.extra_args = {"--rename-command", "RESTORE", ""};

  {
    SCOPED_TRACE("standalone");
    redis_server target(no_restore);
    sync_client dst = target.client();
    const ferry_result run = import(file, target.url());
    ASSERT_EQ(run.exit_code, 0) << run.output();
    expect_exact_copy(src, dst);
    const auto r = report();
    EXPECT_EQ(r["totals"]["imported"], keys);
    EXPECT_EQ(r["totals"]["by_method"]["struct"], keys);
    EXPECT_EQ(r["totals"]["by_method"]["restore"], 0);
    EXPECT_EQ(r["totals"]["struct_reasons"]["restore_refused"], keys);
    EXPECT_EQ(r["restore_refused"], true);
    EXPECT_EQ(r["needs_struct"], 0);
    // One warning for the whole job, not one per key.
    EXPECT_EQ(count_containing(r["warnings"], "refuses RESTORE"), 1u) << run.output();
    EXPECT_THAT(run.out, HasSubstr("with type commands (struct mode: "));
    EXPECT_EQ(temp_keys(dst), 0u);
  }
  {
    SCOPED_TRACE("3-master cluster");
    cluster_options o;
    o.masters = 3;
    o.node = no_restore;
    redis_cluster cluster(o);
    const ferry_result run = import(file, cluster.url());
    ASSERT_EQ(run.exit_code, 0) << run.output();
    cluster_client dst = cluster.client();
    expect_exact_copy(src, dst);
    EXPECT_EQ(report()["totals"]["by_method"]["struct"], keys);
    for (const auto& master : cluster.masters()) {
      sync_client m = master->client();
      EXPECT_EQ(temp_keys(m), 0u) << master->url();
    }
  }
}

TEST_F(import_struct_test, mode_struct_writes_every_key_with_type_commands_exactly) {
  redis_server source;
  sync_client src = source.client();
  dataset_options d;
  d.count_per_kind = 5;
  const fill_result filled = fill_every_type(src, d);
  const auto file = saved(source);
  redis_server target;
  sync_client dst = target.client();
  const ferry_result run = import(file, target.url(), {"--mode", "struct"});
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(src, dst);
  EXPECT_EQ(report()["totals"]["struct_reasons"]["forced"], filled.keys);
  EXPECT_EQ(report()["restore_refused"], false);
}

/// `record` as Redis 6.2 can hold it: no stream metadata of Redis 7, zset scores as numbers
/// (6.2 prints %.17g, 7.4 the shortest form).
key_record as_held_by_6_2(key_record record) {
  if (record.type == "zset") {
    for (std::size_t i = 1; i < record.value.size(); i += 2) {
      record.value[i] = fmt::format("{}", std::strtod(record.value[i].c_str(), nullptr));
    }
  }
  if (record.type != "stream") return record;
  for (std::string& item : record.value) {
    if (item.rfind("meta ", 0) == 0) {
      item = std::regex_replace(
          item, std::regex(" (max-deleted-entry-id|entries-added|recorded-first-entry-id)=\\S+"),
          "");
    }
    if (item.rfind("group ", 0) == 0) {
      item = std::regex_replace(item, std::regex(" entries-read=\\S+"), "");
    }
  }
  return record;
}

TEST_F(import_struct_test,
       a_7_4_file_into_6_2_and_valkey_8_is_exact_except_what_cannot_be_carried) {
  FERRY_SKIP_UNLESS_SERVER("7.4");
  server_options from;
  from.version = "7.4";
  redis_server source(from);
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 5;
  data.with_expiry_fraction = 0;  // 6.2 reads expiries as PTTL: not to the ms
  const fill_result filled = fill_every_type(src, data);
  // Hashes with field expiries (a listpack one and a hashtable one), which neither target can
  // hold; the dataset's other hashes (listpacks, which 6.2 does not know) go by type commands.
  const std::string later = std::to_string(now_ms() + 3'600'000);
  src.checked({"HSET", "fttl:small", "a", "1", "b", "2"});
  src.checked({"HPEXPIREAT", "fttl:small", later, "FIELDS", "1", "a"});
  std::vector<std::vector<std::string>> big;
  for (int i = 0; i < 600; ++i) {
    big.push_back({"HSET", "fttl:big", fmt::format("field:{}", i), std::string(100, 'x')});
  }
  big.push_back({"HPEXPIREAT", "fttl:big", later, "FIELDS", "1", "field:7"});
  src.pipeline(big);
  const std::set<std::string> cannot{"fttl:small", "fttl:big"};
  const auto file = saved(source);

  for (const std::string version : {"6.2", "valkey-8.0"}) {
    if (!find_server_build(version)) {
      std::printf("skipped the %s target: %s\n", version.c_str(),
                  server_missing_message(version).c_str());
      continue;
    }
    SCOPED_TRACE(version);
    server_options to;
    to.version = version;
    redis_server target(to);
    sync_client dst = target.client();
    std::filesystem::remove(dir_ / "failed.jsonl");
    const ferry_result run = import(file, target.url());
    EXPECT_EQ(run.exit_code, 1) << run.output();
    const auto r = report();
    EXPECT_EQ(r["totals"]["failed"], cannot.size()) << run.output();
    EXPECT_EQ(r["needs_struct"], cannot.size());
    EXPECT_EQ(r["totals"]["imported"], filled.keys);
    // 6.2 does not know 7.x's listpacks: those go by type commands; Valkey 8 reads them all
    // once their trailer is rewritten.
    if (version == "6.2") {
      EXPECT_GT(r["totals"]["struct_reasons"]["bad_payload"], 0);
    }
    EXPECT_GT(r["totals"]["by_method"]["downgraded"], 0) << run.output();
    std::set<std::string> failed;
    for (const auto& line : read_json_lines(dir_ / "failed.jsonl")) {
      EXPECT_THAT(line["error"].get<std::string>(), HasSubstr("field expiries")) << line.dump();
      std::string key;
      ASSERT_TRUE(engine::decode_base64(line["key_base64"].get<std::string>(), key));
      failed.insert(key);
    }
    EXPECT_EQ(failed, cannot);
    // The oracle: every other key of the source, as the target holds it (6.2: no stream
    // metadata of Redis 7; both: zset scores compared as numbers).
    const bool old = version == "6.2";
    const auto held = [old](key_record k) { return old ? as_held_by_6_2(std::move(k)) : k; };
    keyspace expected, actual;
    for (auto& k : dump_keyspace(src)) {
      if (cannot.count(k.key) == 0) expected.push_back(held(std::move(k)));
    }
    for (auto& k : dump_keyspace(dst)) actual.push_back(held(std::move(k)));
    EXPECT_EQ(diff_keyspaces(expected, actual), "");
    EXPECT_EQ(temp_keys(dst), 0u);
  }
}

/// `n` printable bytes LZF cannot shrink (so that the file holds the value's full size).
std::string noise(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>('!' + rng() % 90);
  return s;
}

TEST_F(import_struct_test, big_values_are_streamed_to_struct_mode_in_bounded_memory) {
  redis_server source;
  sync_client src = source.client();
  std::mt19937_64 rng(11);
  // A 40 MB hash (40,000 fields of 1 KB) and a 30 MB string, beside small keys.
  std::vector<std::vector<std::string>> hset;
  for (int start = 0; start < 40'000; start += 500) {
    std::vector<std::string> c{"HSET", "big:hash"};
    for (int i = start; i < start + 500; ++i) {
      c.push_back(fmt::format("field:{}", i));
      c.push_back(noise(rng, 1'000));
    }
    hset.push_back(std::move(c));
  }
  for (const auto& answer : src.pipeline(hset)) ASSERT_FALSE(answer.is_error()) << answer.str;
  src.checked({"SET", "big:string", noise(rng, 30'000'000)});
  src.checked({"PEXPIREAT", "big:string", std::to_string(now_ms() + 7'200'000)});
  fill_strings(src, 1'000, 100, 3);
  const auto file = saved(source);
  redis_server target;
  sync_client dst = target.client();

  const ferry_result run =
      import(file, target.url(), {"--max-inflight-bytes", "16MiB", "--big-key-bytes", "1MiB"});
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(src, dst);
  const auto r = report();
  EXPECT_EQ(r["totals"]["struct_reasons"]["big_key"], 2) << run.output();
  EXPECT_EQ(r["totals"]["by_method"]["restore"], 1'000);
  EXPECT_EQ(temp_keys(dst), 0u);
  // 70 MB of values went through, a chunk at a time: measured 52 MB peak RSS (Release), most
  // of it the process itself; holding both values whole would take it past the bound.
  RecordProperty("max_rss_kb", static_cast<int>(run.max_rss_kb));
  EXPECT_LT(run.max_rss_kb, rss_limit_kb) << "ferry's peak RSS grew with the values' size";
}

TEST_F(import_struct_test, an_import_killed_mid_key_resumes_exact_and_leaves_no_temporary_key) {
  redis_server source;
  sync_client src = source.client();
  std::mt19937_64 rng(5);
  // Three hashes of ~4 MB over --big-key-bytes, written in chunks at 8 MB/s: a SIGKILL lands
  // while one of them is half-built under its temporary key.
  for (int h = 0; h < 3; ++h) {
    std::vector<std::vector<std::string>> hset;
    for (int start = 0; start < 4'000; start += 500) {
      std::vector<std::string> c{"HSET", fmt::format("big:{}", h)};
      for (int i = start; i < start + 500; ++i) {
        c.push_back(fmt::format("field:{}", i));
        c.push_back(noise(rng, 1'000));
      }
      hset.push_back(std::move(c));
    }
    for (const auto& answer : src.pipeline(hset)) ASSERT_FALSE(answer.is_error()) << answer.str;
  }
  fill_strings(src, 500, 100, 9);
  const auto file = saved(source);
  redis_server target;
  sync_client dst = target.client();
  std::vector<std::string> args{"import",
                                file.string(),
                                "--target",
                                target.url(),
                                "--state",
                                (dir_ / "state.json").string(),
                                "--report",
                                (dir_ / "report.json").string(),
                                "--checkpoint-interval",
                                "0.2",
                                "--big-key-bytes",
                                "1MiB",
                                "--progress",
                                "never"};
  {
    std::vector<std::string> slow = args;
    slow.insert(slow.end(), {"--max-bytes-per-sec", "8MiB"});
    ferry_process run(slow, dir_.path());
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (temp_keys(dst) == 0 && run.running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(run.running()) << "the import ended before a temporary key was seen";
    run.signal(SIGKILL);
    run.wait(60s);
  }
  ASSERT_GT(temp_keys(dst), 0u);  // what the killed run left, expiring on its own
  args.push_back("--resume");
  const ferry_result resumed = run_ferry(args, 300s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  expect_exact_copy(src, dst);
  EXPECT_EQ(temp_keys(dst), 0u);
  EXPECT_EQ(count_containing(report()["warnings"], "temporary key(s)"), 1u) << resumed.output();
  EXPECT_EQ(report()["resumed"], true);
}

}  // namespace
}  // namespace ferry::testing
