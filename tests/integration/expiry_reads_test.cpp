// Reads without an expiry command where the source's INFO proves its database has no expiry
// (engine/copy/expiry_probe.hpp, issue 13). Judged by the keyspace oracle (values, types and
// absolute expiries) and by what the source's INFO commandstats says it ran.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

/// 20,000 strings and a few keys of other types, none with an expiry.
std::uint64_t fill_without_expiries(sync_client& source) {
  fill_strings(source, 20'000, 100, 5);
  dataset_options other;
  other.count_per_kind = 10;
  other.big_per_kind = 0;
  other.with_expiry_fraction = 0;
  other.key_prefix = "typed:";
  fill_every_type(source, other);
  return static_cast<std::uint64_t>(source.checked({"DBSIZE"}).integer);
}

class expiry_reads_test : public ::testing::Test {
 protected:
  temp_dir dir_{"expiry-reads"};
  redis_server source_;
  redis_server target_;
  sync_client source_client_ = source_.client();
  sync_client target_client_ = target_.client();
  const std::uint64_t keys_ = fill_without_expiries(source_client_);

  /// Runs `ferry copy` with `extra` options after the commandstats are reset; its exit code.
  int copy(std::vector<std::string> extra = {}) {
    source_client_.checked({"CONFIG", "RESETSTAT"});
    std::vector<std::string> args = {"copy",        "--source",    source_.url(),
                                     "--target",    target_.url(), "--report",
                                     report_path(), "--progress",  "never"};
    args.insert(args.end(), extra.begin(), extra.end());
    const ferry_result run = run_ferry(args);
    EXPECT_EQ(run.exit_code, 0) << run.output();
    return run.exit_code;
  }
  std::uint64_t expiry_calls() { return command_calls(source_client_, "pexpiretime"); }
  std::string report_path() const { return (dir_ / "report.json").string(); }
  nlohmann::json sent() const { return read_json(dir_ / "report.json")["source_commands"]; }
};

TEST_F(expiry_reads_test, a_database_without_expiries_is_read_without_expiry_commands) {
  ASSERT_EQ(copy(), 0);
  const std::uint64_t expiries = expiry_calls();
  const std::uint64_t infos = command_calls(source_client_, "info");
  expect_exact_copy(source_client_, target_client_);

  // Only each reader's first pass asks every key's expiry (it learns there that the database
  // has none); the rest go between two INFO samples.
  EXPECT_LT(expiries, keys_ / 4);
  EXPECT_GT(infos, 4u);
  EXPECT_LE(expiries - sent()["expiry"].get<std::uint64_t>(), 1u);
  EXPECT_LE(sent()["info"].get<std::uint64_t>(), infos);
  EXPECT_GT(sent()["info"].get<std::uint64_t>(), 0u);
}

TEST_F(expiry_reads_test, a_database_with_one_expiry_is_read_per_key_and_keeps_it) {
  const std::int64_t later = now_ms() + 3'600'000;
  source_client_.checked({"PEXPIREAT", "str:19999", std::to_string(later)});
  ASSERT_EQ(copy(), 0);
  EXPECT_GE(expiry_calls(), keys_);
  expect_exact_copy(source_client_, target_client_);
  EXPECT_EQ(target_client_.checked({"PEXPIRETIME", "str:19999"}).integer, later);
}

TEST_F(expiry_reads_test, per_key_asks_every_keys_expiry) {
  ASSERT_EQ(copy({"--expiry-reads", "per-key"}), 0);
  EXPECT_GE(expiry_calls(), keys_);
  EXPECT_EQ(sent()["info"], 0);
  expect_exact_copy(source_client_, target_client_);
}

TEST_F(expiry_reads_test, keys_expiring_during_the_copy_make_passes_read_again_with_expiries) {
  // Keys with a 1 ms expiry keep expiring in database 1 while database 0 (no expiry) is copied:
  // `expired_keys` moves between the two samples of a pass, which then proves nothing, so its
  // keys are read again with their expiries. The copy must still be exact.
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    sync_client other = source_.client();
    other.checked({"SELECT", "1"});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    for (int n = 0; !stop && n < 1'000'000 && std::chrono::steady_clock::now() < until; ++n) {
      other.checked({"SET", "churn:" + std::to_string(n % 64), "v", "PX", "1"});
      if (n % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
  });
  // A slow copy, so that many passes run while keys expire; database 1 stays behind.
  const int exit_code = copy({"--max-keys-per-sec", "20000", "--ignore-other-dbs"});
  stop = true;
  churn.join();
  ASSERT_EQ(exit_code, 0);
  // Database 0 only (the oracle's sorted dump): DEBUG DIGEST would count database 1 too.
  expect_exact_copy(source_client_, target_client_, false);
  // Most passes were read again with their expiries (without the churn, fewer than a quarter
  // of the keys are: the first test), and the rest between samples that proved them.
  EXPECT_GT(expiry_calls(), keys_ / 2);
  EXPECT_GT(sent()["info"].get<std::uint64_t>(), 4u);
}

}  // namespace
}  // namespace ferry::testing
