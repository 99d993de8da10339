// `ferry copy` against real servers: exact copies (checked by an independent oracle), policies
// for existing keys, vanished and failed keys, and the exit codes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class copy_test : public ::testing::Test {
 protected:
  temp_dir dir_{"copy"};
  tls_material tls_;

  server_options tls_server() const {
    server_options options;
    options.tls = make_server_tls(tls_);
    return options;
  }
  std::vector<std::string> copy_args(const std::string& source, const std::string& target) const {
    return {"copy",
            "--source",
            source,
            "--target",
            target,
            "--cacert",
            tls_.ca().cert.string(),
            "--report",
            (dir_ / "report.json").string(),
            "--failed-keys",
            (dir_ / "failed.jsonl").string(),
            "--progress",
            "never"};
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }
};

TEST_F(copy_test, standalone_to_tls_standalone_copies_every_type_exactly) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 30;
  const fill_result filled = fill_every_type(source_client, data);
  fill_strings(source_client, 20'000, 100, 7);

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);

  const auto totals = report()["totals"];
  const std::uint64_t keys = filled.keys + 20'000;
  EXPECT_EQ(totals["scanned"], keys);
  EXPECT_EQ(totals["copied"], keys);
  EXPECT_EQ(totals["failed"], 0);
  EXPECT_EQ(totals["vanished"], 0);
  EXPECT_GT(totals["bytes"].get<std::uint64_t>(), 20'000u * 100);
  EXPECT_EQ(report()["status"], "complete");
  EXPECT_EQ(report()["shards"].size(), 1u);
  EXPECT_THAT(run.out, HasSubstr("copied"));
}

TEST_F(copy_test, cluster_to_tls_standalone) {
  redis_cluster source;
  redis_server target(tls_server());
  cluster_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 10'000, 64, 3);

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  // One shard per source master, each with its own counters.
  const auto shards = report()["shards"];
  ASSERT_EQ(shards.size(), 3u);
  std::uint64_t copied = 0;
  for (const auto& shard : shards) {
    EXPECT_GT(shard["copied"].get<std::uint64_t>(), 0u);
    EXPECT_TRUE(shard["complete"].get<bool>());
    copied += shard["copied"].get<std::uint64_t>();
  }
  EXPECT_EQ(report()["totals"]["copied"], copied);
}

TEST_F(copy_test, cluster_to_tls_cluster) {
  redis_cluster source;
  cluster_options target_options;
  target_options.node = tls_server();
  redis_cluster target(target_options);
  cluster_client source_client = source.client();
  cluster_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 10'000, 64, 4);

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  // Every key sits on the target master that owns its slot (routing by CRC16 slot).
  for (sync_client* master : target_client.masters()) {
    const auto keys = master->checked({"SCAN", "0", "COUNT", "100000"})[1];
    for (const auto& key : keys.elements) {
      const auto slot = master->checked({"CLUSTER", "KEYSLOT", key.str}).integer;
      EXPECT_EQ(&target_client.master_for_slot(static_cast<std::uint16_t>(slot)), master);
    }
  }
}

TEST_F(copy_test, source_db_3_into_target_db_0) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  source_client.checked({"SELECT", "3"});
  fill_every_type(source_client);
  sync_client other_db = source.client();  // db 0 of the source holds a decoy
  other_db.checked({"SET", "decoy-in-db-0", "x"});
  sync_client target_client = target.client();

  auto args = copy_args(source.url(), target.url());
  // The decoy stays behind on purpose (without --ignore-other-dbs that is exit code 1: see
  // honest_outputs_test), and is still reported.
  args.insert(args.end(), {"--source-db", "3", "--target-db", "0", "--ignore-other-dbs"});
  const ferry_result run = run_ferry(args);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_THAT(run.err, HasSubstr("stay behind in db 0 (1 keys)"));
  expect_exact_copy(source_client, target_client, false);
  EXPECT_EQ(target_client.checked({"EXISTS", "decoy-in-db-0"}).integer, 0);
  EXPECT_EQ(target_client.checked({"DBSIZE"}).integer,
            static_cast<long long>(dump_keyspace(source_client).size()));
}

TEST_F(copy_test, a_non_empty_target_is_refused_without_a_policy) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  fill_strings(source_client, 100, 10);
  sync_client target_client = target.client();
  target_client.checked({"SET", "already-here", "1"});

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("already holds 1 keys"));
  EXPECT_THAT(run.err, HasSubstr("--on-existing"));
  EXPECT_THAT(run.err, HasSubstr(std::to_string(target.port())));
  EXPECT_EQ(target_client.checked({"DBSIZE"}).integer, 1) << "nothing may be written";
}

class existing_keys_test : public copy_test {
 protected:
  // The source holds str:0..99; the target already holds str:0..9 with other values, plus a key
  // of its own.
  void SetUp() override {
    source_ = std::make_unique<redis_server>();
    target_ = std::make_unique<redis_server>(tls_server());
    source_client_ = std::make_unique<sync_client>(source_->client());
    target_client_ = std::make_unique<sync_client>(target_->client());
    fill_strings(*source_client_, 100, 20, 1, "str:");
    for (int i = 0; i < 10; ++i) {
      target_client_->checked({"SET", "str:" + std::to_string(i), "target's own value"});
    }
    target_client_->checked({"SET", "only-on-target", "stays"});
  }
  ferry_result copy_with(const std::string& policy) {
    auto args = copy_args(source_->url(), target_->url());
    args.insert(args.end(), {"--on-existing", policy});
    return run_ferry(args);
  }
  void expect_untouched_existing_keys() {
    for (int i = 0; i < 10; ++i) {
      EXPECT_EQ(target_client_->checked({"GET", "str:" + std::to_string(i)}).str,
                "target's own value");
    }
  }
  void expect_new_keys_copied() {
    for (int i = 10; i < 100; ++i) {
      const std::string key = "str:" + std::to_string(i);
      EXPECT_EQ(target_client_->checked({"GET", key}).str,
                source_client_->checked({"GET", key}).str);
    }
    EXPECT_EQ(target_client_->checked({"GET", "only-on-target"}).str, "stays");
  }

  std::unique_ptr<redis_server> source_, target_;
  std::unique_ptr<sync_client> source_client_, target_client_;
};

TEST_F(existing_keys_test, fail_reports_each_existing_key_and_leaves_it) {
  const ferry_result run = copy_with("fail");
  EXPECT_EQ(run.exit_code, 1) << run.output();
  expect_untouched_existing_keys();
  expect_new_keys_copied();
  EXPECT_EQ(report()["totals"]["failed"], 10);
  EXPECT_EQ(report()["totals"]["copied"], 90);
  std::set<std::string> failed;
  for (const auto& line : read_json_lines(dir_ / "failed.jsonl")) {
    failed.insert(line["key"].get<std::string>());
    EXPECT_EQ(line["kind"], "busykey");
    EXPECT_THAT(line["error"].get<std::string>(), HasSubstr("exists"));
  }
  std::set<std::string> expected;
  for (int i = 0; i < 10; ++i) expected.insert("str:" + std::to_string(i));
  EXPECT_EQ(failed, expected);
  EXPECT_THAT(run.err, HasSubstr("10 key(s) could not be copied"));
}

TEST_F(existing_keys_test, skip_counts_existing_keys_as_skipped) {
  const ferry_result run = copy_with("skip");
  EXPECT_EQ(run.exit_code, 0) << run.output();
  expect_untouched_existing_keys();
  expect_new_keys_copied();
  EXPECT_EQ(report()["totals"]["skipped"], 10);
  EXPECT_EQ(report()["totals"]["copied"], 90);
  EXPECT_EQ(report()["totals"]["failed"], 0);
}

TEST_F(existing_keys_test, replace_overwrites_existing_keys) {
  const ferry_result run = copy_with("replace");
  EXPECT_EQ(run.exit_code, 0) << run.output();
  for (int i = 0; i < 100; ++i) {
    const std::string key = "str:" + std::to_string(i);
    EXPECT_EQ(target_client_->checked({"GET", key}).str, source_client_->checked({"GET", key}).str);
  }
  EXPECT_EQ(target_client_->checked({"GET", "only-on-target"}).str, "stays");
  EXPECT_EQ(report()["totals"]["copied"], 100);
}

TEST_F(copy_test, keys_expiring_during_the_copy_vanish_and_are_not_resurrected) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 20'000, 50, 9, "stays:");
  // 100k keys that expire over the next ~1.5 s, while the copy runs.
  std::vector<std::vector<std::string>> expiring;
  for (int i = 0; i < 100'000; ++i) {
    expiring.push_back(
        {"SET", "brief:" + std::to_string(i), "v", "PX", std::to_string(200 + i % 1300)});
  }
  source_client.pipeline(expiring);

  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--batch-keys", "64", "--readers", "1", "--writers", "1"});
  const ferry_result run = run_ferry(args);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto totals = report()["totals"];
  EXPECT_GT(totals["vanished"].get<std::uint64_t>(), 0u) << totals.dump();
  EXPECT_EQ(totals["scanned"],
            totals["copied"].get<std::uint64_t>() + totals["vanished"].get<std::uint64_t>());
  // Nothing expired is on the target, and everything there matches the source.
  std::this_thread::sleep_for(std::chrono::milliseconds{1600});
  expect_exact_copy(source_client, target_client);
}

TEST_F(copy_test, a_key_the_target_cannot_take_is_failed_not_copied) {
  redis_server source;
  server_options small_bulks = tls_server();
  small_bulks.extra_args = {"--proto-max-bulk-len", "1mb"};
  redis_server target(small_bulks);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 1'000, 100, 5);
  // Random bytes: DUMP compresses, and a compressible value would fit the target's limit.
  std::string big(2 << 20, '\0');
  std::mt19937 random(11);
  for (char& c : big) c = static_cast<char>(random());
  source_client.checked({"SET", "too-big", big});

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  EXPECT_EQ(run.exit_code, 1) << run.output();
  EXPECT_EQ(report()["totals"]["failed"], 1);
  EXPECT_EQ(report()["totals"]["copied"], 1'000);
  const auto failed = read_json_lines(dir_ / "failed.jsonl");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["key"], "too-big");
  EXPECT_EQ(failed[0]["key_base64"], "dG9vLWJpZw==");
  EXPECT_EQ(target_client.checked({"EXISTS", "too-big"}).integer, 0);
  EXPECT_EQ(target_client.checked({"DBSIZE"}).integer, 1'000);
}

TEST_F(copy_test, a_wrong_url_or_a_refused_connection_cannot_run) {
  const ferry_result bad_url = run_ferry({"copy", "--source", "http://x", "--target", "redis://y"});
  EXPECT_EQ(bad_url.exit_code, 64) << bad_url.output();
  EXPECT_THAT(bad_url.err, HasSubstr("--source"));

  const auto port = pick_free_port(false);
  const ferry_result refused =
      run_ferry({"copy", "--source", "redis://127.0.0.1:" + std::to_string(port), "--target",
                 "redis://127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(refused.exit_code, 2) << refused.output();
  EXPECT_THAT(refused.err, HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(refused.err, HasSubstr("source"));
}

TEST(copy_help, documents_every_option) {
  const ferry_result help = run_ferry({"copy", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.output();
  for (const char* option : {"--source",
                             "--target",
                             "--source-db",
                             "--target-db",
                             "--cacert",
                             "--source-cacert",
                             "--target-cacert",
                             "--cert",
                             "--key",
                             "--insecure",
                             "--match",
                             "--type",
                             "--slots",
                             "--on-existing",
                             "--failed-keys",
                             "--report",
                             "--progress",
                             "--threads",
                             "--scan-count",
                             "--batch-keys",
                             "--batch-bytes",
                             "--max-inflight-bytes",
                             "--readers",
                             "--writers",
                             "--connect-timeout",
                             "--timeout",
                             "--max-retry-time"}) {
    EXPECT_THAT(help.out, HasSubstr(option)) << option;
  }
  // Every option carries a description: after its name on the same line, or (for long names)
  // on the next line.
  std::istringstream stream(help.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("  --", 0) != 0) continue;
    std::istringstream words(lines[i]);
    const std::vector<std::string> tokens{std::istream_iterator<std::string>(words), {}};
    const bool next_is_description = i + 1 < lines.size() && lines[i + 1].rfind("   ", 0) == 0 &&
                                     lines[i + 1].find_first_not_of(' ') > 4;
    EXPECT_TRUE(tokens.size() >= 4 || next_is_description) << "no description: " << lines[i];
  }
  EXPECT_THAT(help.out, HasSubstr("Exit codes"));
}

// With no --on-existing the target was empty at the start, so a key that ferry meets on it later
// is one ferry owns (SCAN may return a key twice when the source's table shrinks, a rescanned
// slot): settled by value, not failed. A key holding the source's value stays; another value is
// replaced by the source's. Keys are planted only where ferry has not written yet (SET NX,
// RESTORE without REPLACE), so each planted key is met exactly once.
TEST_F(copy_test, keys_met_again_on_a_target_that_was_empty_are_settled_by_value_not_failed) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  constexpr std::size_t keys = 40'000;
  fill_strings(source_client, keys, 100, 41);

  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--max-keys-per-sec", "10000"});
  ferry_process ferry(args, dir_.path());
  std::this_thread::sleep_for(std::chrono::milliseconds{800});
  sync_client target_client = target.client();
  std::size_t planted = 0;
  for (std::size_t n = keys - 1; n >= keys - 400; n -= 4) {  // 200 keys, wherever SCAN has them
    const std::string same = "str:" + std::to_string(n);
    const std::string other = "str:" + std::to_string(n - 1);
    const reply dump = source_client.checked({"DUMP", same});
    if (!target_client.command({"RESTORE", same, "0", dump.str}).is_error()) ++planted;
    if (target_client.checked({"SET", other, "not the source's value", "NX"}).kind ==
        reply_kind::status) {
      ++planted;
    }
  }
  const ferry_result run = ferry.wait(std::chrono::seconds{60});
  ASSERT_EQ(run.exit_code, 0) << run.output();
  ASSERT_GT(planted, 0u) << "ferry wrote every key before the test could plant one";
  expect_exact_copy(source_client, target_client, true);
  const auto totals = report()["totals"];
  EXPECT_EQ(totals["failed"].get<std::uint64_t>(), 0u) << totals.dump();
  EXPECT_EQ(totals["rescanned"].get<std::uint64_t>(), planted) << totals.dump();
  EXPECT_EQ(totals["copied"].get<std::uint64_t>(), keys - planted) << totals.dump();
}

}  // namespace
}  // namespace ferry::testing
