// Reads without an expiry command where a server's INFO proves its database has no expiry
// (engine/cluster/expiry_probe.hpp): the copy's source reads (issue 13), and verify's reads of
// both sides (issue 18). The copies are judged by the keyspace oracle (values, types and
// absolute expiries), verify by differences planted on equal servers, and both by what the
// servers' INFO commandstats say they ran.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "tests/integration/verify_support.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
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

/// A source filled by fill_without_expiries and a target, with a client each.
class servers_without_expiries : public ::testing::Test {
 protected:
  explicit servers_without_expiries(const std::string& name) : dir_(name) {}

  temp_dir dir_;
  redis_server source_;
  redis_server target_;
  sync_client source_client_ = source_.client();
  sync_client target_client_ = target_.client();
  const std::uint64_t keys_ = fill_without_expiries(source_client_);
};

/// Keys with a 1 ms expiry set over and over in database 1 of `server`, from a thread, until
/// destroyed (at most 60 s): `expired_keys` keeps moving, so no INFO sample proves anything.
class expiring_churn {
 public:
  explicit expiring_churn(redis_server& server)
      : thread_([this, &server] {
          sync_client other = server.client();
          other.checked({"SELECT", "1"});
          const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{60};
          for (int n = 0; !stop_ && n < 1'000'000 && std::chrono::steady_clock::now() < until;
               ++n) {
            other.checked({"SET", "churn:" + std::to_string(n % 64), "v", "PX", "1"});
            written_ = n;
            if (n % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds{1});
          }
        }) {
    // Under way before the caller goes on (bounded: 5 s).
    for (int wait = 0; wait < 500 && written_ < 1000; ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
  ~expiring_churn() {
    stop_ = true;
    thread_.join();
  }
  expiring_churn(const expiring_churn&) = delete;
  expiring_churn& operator=(const expiring_churn&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> written_{0};
  std::thread thread_;
};

class expiry_reads_test : public servers_without_expiries {
 protected:
  expiry_reads_test() : servers_without_expiries("expiry-reads") {}

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
  // has none); the rest go between two INFO samples, except the few keys of other types read
  // after a GET pass, too few to be worth a bracket (min_bracketed_keys).
  EXPECT_LT(expiries, keys_ / 4 + 100);
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
  int exit_code = 0;
  {
    const expiring_churn churn(source_);
    // A slow copy, so that many passes run while keys expire; database 1 stays behind.
    exit_code = copy({"--max-keys-per-sec", "20000", "--ignore-other-dbs"});
  }
  ASSERT_EQ(exit_code, 0);
  // Database 0 only (the oracle's sorted dump): DEBUG DIGEST would count database 1 too.
  expect_exact_copy(source_client_, target_client_, false);
  // Most passes were read again with their expiries (without the churn, fewer than a quarter
  // of the keys are: the first test), and the rest between samples that proved them.
  EXPECT_GT(expiry_calls(), keys_ / 2);
  EXPECT_GT(sent()["info"].get<std::uint64_t>(), 4u);
}

/// `ferry verify` of two servers filled alike (no expiry), each reset before the verify.
class verify_expiry_reads_test : public servers_without_expiries {
 protected:
  verify_expiry_reads_test() : servers_without_expiries("verify-expiry-reads") {
    fill_without_expiries(target_client_);
  }

  verify_run verify(std::vector<std::string> extra = {}) {
    source_client_.checked({"CONFIG", "RESETSTAT"});
    target_client_.checked({"CONFIG", "RESETSTAT"});
    return verify_run(dir_, source_.url(), target_.url(), std::move(extra));
  }
};

TEST_F(verify_expiry_reads_test, equal_servers_without_expiries_are_compared_without_them) {
  ASSERT_EQ(debug_digest(source_client_), debug_digest(target_client_));
  const verify_run run = verify();
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output() << run.diff_text();
  EXPECT_EQ(run.totals()["checked"], keys_);
  // The first batch reads expiries (and learns there are none); the rest do not.
  for (sync_client* side : {&source_client_, &target_client_}) {
    EXPECT_LT(command_calls(*side, "pexpiretime"), keys_ / 4);
    EXPECT_GT(command_calls(*side, "info"), 4u);
  }

  const std::uint64_t infos = command_calls(source_client_, "info");
  const verify_run per_key = verify({"--expiry-reads", "per-key"});
  ASSERT_EQ(per_key.result.exit_code, 0) << per_key.result.output();
  EXPECT_GE(command_calls(source_client_, "pexpiretime"), keys_);
  EXPECT_LT(command_calls(source_client_, "info"), infos) << "only the job's own look at INFO";
}

TEST_F(verify_expiry_reads_test, an_expiry_on_one_side_only_is_found_on_either_side) {
  // The side without expiries is read without them; the other per key.
  const std::string later = std::to_string(now_ms() + 3'600'000);
  target_client_.checked({"PEXPIREAT", "str:77", later});
  target_client_.checked({"PEXPIREAT", "typed:hash:listpack:3", later});
  const verify_run on_target = verify();
  EXPECT_EQ(on_target.result.exit_code, 1) << on_target.result.output();
  EXPECT_EQ(on_target.kinds(), (std::map<std::string, std::string>{{"str:77", "expiry"},
                                                                   {"typed:hash:listpack:3", "expiry"}}))
      << on_target.diff_text();
  EXPECT_LT(command_calls(source_client_, "pexpiretime"), keys_ / 4);

  target_client_.checked({"PERSIST", "str:77"});
  target_client_.checked({"PERSIST", "typed:hash:listpack:3"});
  source_client_.checked({"PEXPIREAT", "str:1234", later});
  const verify_run on_source = verify();
  EXPECT_EQ(on_source.result.exit_code, 1) << on_source.result.output();
  EXPECT_EQ(on_source.kinds(), (std::map<std::string, std::string>{{"str:1234", "expiry"}}))
      << on_source.diff_text();
  EXPECT_LT(command_calls(target_client_, "pexpiretime"), keys_ / 4);
}

TEST_F(verify_expiry_reads_test, values_that_differ_and_keys_missing_are_found) {
  target_client_.checked({"SET", "str:5", "another value"});
  target_client_.checked({"SET", "str:6", ""});  // an empty string reads like a missing key
  target_client_.checked({"DEL", "str:7"});
  target_client_.checked({"HSET", "typed:hash:listpack:2", "field", "other"});
  const verify_run run = verify();
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.kinds(), (std::map<std::string, std::string>{{"str:5", "value"},
                                                            {"str:6", "value"},
                                                            {"str:7", "missing"},
                                                            {"typed:hash:listpack:2", "value"}}))
      << run.diff_text();
  EXPECT_LT(command_calls(target_client_, "pexpiretime"), keys_ / 4);
}

TEST_F(verify_expiry_reads_test, keys_expiring_during_the_check_make_batches_read_again) {
  // As for the copy: keys with a 1 ms expiry keep expiring in the source's database 1, so its
  // samples prove nothing and batches are read again with their expiries; one real difference
  // must still be found, and nothing else.
  const std::string later = std::to_string(now_ms() + 3'600'000);
  target_client_.checked({"PEXPIREAT", "str:4321", later});
  std::optional<expiring_churn> churn(std::in_place, source_);
  // Large batches: Redis runs a client's pipeline read by read (16 KB), and serves the other
  // clients in between only where a pipeline spans several reads (a batch is at most one SCAN
  // reply). One comparer: its first batch reads about 4000 expiries, and each of the others
  // that fails its proof as many again.
  const verify_run run =
      verify({"--scan-count", "4000", "--batch-keys", "4000", "--comparers", "1"});
  churn.reset();
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.kinds(), (std::map<std::string, std::string>{{"str:4321", "expiry"}}))
      << run.diff_text();
  // SCAN's COUNT is a hint: "about" 4000 each, so half a batch more than the first one.
  EXPECT_GT(command_calls(source_client_, "pexpiretime"), 6000u)
      << "no batch was read again with its expiries";
}

TEST(verify_expiry_reads_cluster, each_master_is_proven_on_its_own) {
  temp_dir dir("verify-expiry-reads-cluster");
  redis_cluster source;
  redis_cluster target;
  cluster_client source_client = source.client();
  cluster_client target_client = target.client();
  fill_strings(source_client, 6'000, 64, 9);
  fill_strings(target_client, 6'000, 64, 9);
  keyed(target_client, {"PEXPIREAT", "str:321", std::to_string(now_ms() + 3'600'000)});
  for (const auto& master : source.masters()) master->client().checked({"CONFIG", "RESETSTAT"});

  // Small batches: about 20 per master, of which the first few (one per comparer) read
  // expiries (a batch below min_bracketed_keys always would).
  const verify_run run(dir, source.url(), target.url(), {"--batch-keys", "100"});
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.kinds(), (std::map<std::string, std::string>{{"str:321", "expiry"}}))
      << run.diff_text();
  std::uint64_t expiries = 0;
  for (const auto& master : source.masters()) {
    sync_client client = master->client();
    expiries += command_calls(client, "pexpiretime");
    EXPECT_GT(command_calls(client, "info"), 1u) << "each master samples its own INFO";
  }
  EXPECT_LT(expiries, 6'000u / 4);
}

}  // namespace
}  // namespace ferry::testing
