// Reads without an expiry command where the source's INFO proves its database has no expiry
// (engine/copy/expiry_probe.hpp, issue 13). Judged by the keyspace oracle (values, types and
// absolute expiries) and by what the source's INFO commandstats says it ran.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
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

/// Calls of `command` since the last CONFIG RESETSTAT, from INFO commandstats.
std::uint64_t calls_of(sync_client& server, std::string_view command) {
  std::istringstream lines(server.checked({"INFO", "commandstats"}).str);
  const std::string field = "cmdstat_" + std::string(command) + ":calls=";
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(field.size()));
  }
  return 0;
}

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

  std::vector<std::string> copy_args(const redis_server& source, const redis_server& target) const {
    return {"copy",     "--source",    source.url(), "--target", target.url(),
            "--report", report_path(), "--progress", "never"};
  }
  std::string report_path() const { return (dir_ / "report.json").string(); }
  nlohmann::json sent() const { return read_json(dir_ / "report.json")["source_commands"]; }
};

TEST_F(expiry_reads_test, a_database_without_expiries_is_read_without_expiry_commands) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const std::uint64_t keys = fill_without_expiries(source_client);
  source_client.checked({"CONFIG", "RESETSTAT"});

  const ferry_result run = run_ferry(copy_args(source, target));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const std::uint64_t expiry_calls = calls_of(source_client, "pexpiretime");
  const std::uint64_t info_calls = calls_of(source_client, "info");
  expect_exact_copy(source_client, target_client);

  // Only each reader's first pass asks every key's expiry (it learns there that the database
  // has none); the rest go between two INFO samples.
  EXPECT_LT(expiry_calls, keys / 4);
  EXPECT_GT(info_calls, 4u);
  EXPECT_LE(expiry_calls - sent()["expiry"].get<std::uint64_t>(), 1u);
  EXPECT_LE(sent()["info"].get<std::uint64_t>(), info_calls);
  EXPECT_GT(sent()["info"].get<std::uint64_t>(), 0u);
}

TEST_F(expiry_reads_test, a_database_with_one_expiry_is_read_per_key_and_keeps_it) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const std::uint64_t keys = fill_without_expiries(source_client);
  const std::int64_t later = now_ms() + 3'600'000;
  source_client.checked({"PEXPIREAT", "str:19999", std::to_string(later)});
  source_client.checked({"CONFIG", "RESETSTAT"});

  const ferry_result run = run_ferry(copy_args(source, target));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_GE(calls_of(source_client, "pexpiretime"), keys);
  expect_exact_copy(source_client, target_client);
  EXPECT_EQ(target_client.checked({"PEXPIRETIME", "str:19999"}).integer, later);
}

TEST_F(expiry_reads_test, per_key_asks_every_keys_expiry) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const std::uint64_t keys = fill_without_expiries(source_client);
  source_client.checked({"CONFIG", "RESETSTAT"});
  auto args = copy_args(source, target);
  args.insert(args.end(), {"--expiry-reads", "per-key"});
  const ferry_result run = run_ferry(args);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_GE(calls_of(source_client, "pexpiretime"), keys);
  EXPECT_EQ(sent()["info"], 0);
  expect_exact_copy(source_client, target_client);
}

TEST_F(expiry_reads_test, keys_expiring_during_the_copy_make_passes_read_again_with_expiries) {
  // Keys with a 1 ms expiry keep expiring in database 1 while database 0 (no expiry) is copied:
  // `expired_keys` moves between the two samples of a pass, which then proves nothing, so its
  // keys are read again with their expiries. The copy must still be exact.
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_without_expiries(source_client);
  source_client.checked({"CONFIG", "RESETSTAT"});

  std::atomic<bool> stop{false};
  std::thread churn([&] {
    sync_client other = source.client();
    other.checked({"SELECT", "1"});
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    for (int n = 0; !stop && n < 1'000'000 && std::chrono::steady_clock::now() < until; ++n) {
      other.checked({"SET", "churn:" + std::to_string(n % 64), "v", "PX", "1"});
      if (n % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
  });
  auto args = copy_args(source, target);
  // A slow copy, so that many passes run while keys expire; database 1 stays behind.
  args.insert(args.end(), {"--max-keys-per-sec", "20000", "--ignore-other-dbs"});
  const ferry_result run = run_ferry(args);
  stop = true;
  churn.join();
  ASSERT_EQ(run.exit_code, 0) << run.output();
  // Database 0 only (the oracle's sorted dump): DEBUG DIGEST would count database 1 too.
  expect_exact_copy(source_client, target_client, false);
  // Passes were read again with expiries: more PEXPIRETIME than a first pass's worth.
  EXPECT_GT(calls_of(source_client, "pexpiretime"), 1'000u);
  EXPECT_GT(sent()["info"].get<std::uint64_t>(), 4u);
}

}  // namespace
}  // namespace ferry::testing
