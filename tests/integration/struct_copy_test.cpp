// Struct mode against real servers: a target without RESTORE, `--mode struct`, and keys too big
// to hold or to RESTORE, each checked by the independent oracle (the canonical keyspace and
// DEBUG DIGEST) and by what the report says about how each key was written.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

class struct_copy_test : public ::testing::Test {
 protected:
  temp_dir dir_{"struct"};

  std::vector<std::string> copy_args(const redis_server& source, const redis_server& target,
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
    return args;
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }
};

std::size_t count_containing(const nlohmann::json& warnings, std::string_view text) {
  std::size_t n = 0;
  for (const auto& w : warnings) n += w.get<std::string>().find(text) != std::string::npos;
  return n;
}

TEST_F(struct_copy_test, a_target_without_restore_gets_every_type_by_type_commands) {
  redis_server source;
  server_options no_restore;
  no_restore.extra_args = {"--rename-command", "RESTORE", ""};
  redis_server target(no_restore);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const fill_result filled = fill_every_type(source_client);
  fill_strings(source_client, 3'000, 100, 5);

  const ferry_result run = run_ferry(copy_args(source, target));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  const auto totals = report()["totals"];
  const std::uint64_t keys = filled.keys + 3'000;
  EXPECT_EQ(totals["copied"], keys);
  EXPECT_EQ(totals["by_method"]["struct"], keys);
  EXPECT_EQ(totals["by_method"]["restore"], 0);
  EXPECT_EQ(totals["struct_reasons"]["restore_refused"], keys);
  // One warning for the whole job, not one per key.
  EXPECT_EQ(count_containing(report()["warnings"], "refuses RESTORE"), 1u) << run.output();
  // No temporary key is left behind.
  EXPECT_EQ(target_client.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
}

TEST_F(struct_copy_test, mode_struct_copies_every_type_and_encoding_exactly) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 10;
  const fill_result filled = fill_every_type(source_client, data);

  const ferry_result run = run_ferry(copy_args(source, target, {"--mode", "struct"}));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  const auto totals = report()["totals"];
  EXPECT_EQ(totals["by_method"]["struct"], filled.keys);
  EXPECT_EQ(totals["struct_reasons"]["forced"], filled.keys);
  EXPECT_EQ(totals["changed"], 0);
  EXPECT_THAT(run.out, HasSubstr("with type commands"));
}

TEST_F(struct_copy_test, keys_over_big_key_bytes_are_copied_in_chunks_without_their_dump) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  // A 3 MB string, a list, a hash, a set and a sorted set of 2 MB or so each (random bytes, so
  // that DUMP's compression keeps them big), beside small keys.
  std::mt19937_64 rng(11);
  const auto noise = [&rng](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
  };
  source_client.command({"SET", "big:string", noise(3'000'000)});
  std::vector<std::string> push{"RPUSH", "big:list"}, hset{"HSET", "big:hash"},
      sadd{"SADD", "big:set"}, zadd{"ZADD", "big:zset"};
  for (int i = 0; i < 20'000; ++i) {
    const std::string n = std::to_string(i);
    push.push_back(noise(100));
    hset.push_back("field:" + n);
    hset.push_back(noise(100));
    sadd.push_back(noise(100) + n);
    zadd.push_back(i % 3 == 0 ? "inf" : std::to_string(i * 0.1));
    zadd.push_back(noise(100) + n);
  }
  for (const auto& command : {push, hset, sadd, zadd}) source_client.command(command);
  source_client.command({"PEXPIREAT", "big:hash", std::to_string(now_ms() + 3'600'000)});
  fill_strings(source_client, 500, 50, 9);

  const ferry_result run = run_ferry(copy_args(source, target, {"--big-key-bytes", "1MiB"}));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  const auto totals = report()["totals"];
  EXPECT_EQ(totals["struct_reasons"]["big_key"], 5);
  EXPECT_EQ(totals["by_method"]["restore"], 500);
  EXPECT_EQ(target_client.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
}

TEST_F(struct_copy_test,
       a_copy_killed_in_the_middle_of_a_key_resumes_exactly_and_leaves_no_temporary_key) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  // Four hashes of 200k fields (~25 MB of payload each) over --big-key-bytes: each is built in
  // chunks under a temporary key for a second or more.
  for (int h = 0; h < 4; ++h) {
    const std::string key = "big:hash:" + std::to_string(h);
    for (int batch = 0; batch < 200; ++batch) {
      std::vector<std::string> hset{"HSET", key};
      for (int i = 0; i < 1000; ++i) {
        hset.push_back("field:" + std::to_string(batch * 1000 + i));
        hset.push_back(std::string(100, static_cast<char>('a' + (batch + i) % 26)));
      }
      source_client.checked(hset);
    }
  }
  source_client.checked({"PEXPIREAT", "big:hash:1", std::to_string(now_ms() + 3'600'000)});
  fill_strings(source_client, 300, 50, 4);
  const std::string state = (dir_ / "ferry.state").string();
  const std::vector<std::string> more{"--big-key-bytes", "1MiB", "--threads", "1",
                                      "--state",         state};

  {
    ferry_process first(copy_args(source, target, more), dir_.path());
    // Killed once a temporary key exists: in the middle of a key (bounded: 60 s of looking).
    bool mid_key = false;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (!mid_key && first.running() && std::chrono::steady_clock::now() < until) {
      mid_key = !target_client.command({"KEYS", "ferry:tmp:*"}).elements.empty();
      if (!mid_key) std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    ASSERT_TRUE(mid_key) << "no temporary key was seen while the first run ran";
    first.signal(SIGKILL);
    const ferry_result killed = first.wait();
    EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.output();
  }
  // (Usually a temporary key is still there now; the kill may also fall between a RENAME and
  // the next key's first chunk.)

  std::vector<std::string> resume = more;
  resume.push_back("--resume");
  const ferry_result run = run_ferry(copy_args(source, target, resume));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  EXPECT_EQ(target_client.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
  EXPECT_EQ(report()["totals"]["failed"], 0);
}

}  // namespace
}  // namespace ferry::testing
