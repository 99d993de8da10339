// `ferry copy --verify` against real servers: the inline verifier compares what the writers
// copied, standalone and cluster, over TLS; a sample chosen by key hash; a target that loses
// keys (eviction) caught while copying; a live source that is not mistaken for a bad copy.
// Exactness is still asserted by the independent oracle, and differences by an independent
// client.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "engine/verify/verify_sample.hpp"
#include "tests/support/dataset.hpp"
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

std::uint64_t u64(const nlohmann::json& value) { return value.get<std::uint64_t>(); }

class copy_verify_test : public ::testing::Test {
 protected:
  temp_dir dir_{"copy-verify"};
  tls_material tls_;

  server_options tls_server() const {
    server_options options;
    options.tls = make_server_tls(tls_);
    return options;
  }
  /// The arguments of `ferry copy --verify` with a report, a diff file and the test CA;
  /// `extra` appended (--verify is left out when `extra` holds --verify-sample).
  std::vector<std::string> arguments(const std::string& source, const std::string& target,
                                     const std::vector<std::string>& extra) const {
    std::vector<std::string> args{"copy",
                                  "--source",
                                  source,
                                  "--target",
                                  target,
                                  "--cacert",
                                  tls_.ca().cert.string(),
                                  "--report",
                                  report_path().string(),
                                  "--diff",
                                  diff_path().string(),
                                  "--progress",
                                  "never"};
    if (std::find(extra.begin(), extra.end(), "--verify-sample") == extra.end()) {
      args.push_back("--verify");
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  /// Runs `ferry copy --verify` (see arguments()) to its end.
  ferry_result copy(const std::string& source, const std::string& target,
                    const std::vector<std::string>& extra = {}) const {
    return run_ferry(arguments(source, target, extra), std::chrono::seconds{60});
  }
  std::filesystem::path report_path() const { return dir_ / "report.json"; }
  std::filesystem::path diff_path() const { return dir_ / "diff.jsonl"; }
  nlohmann::json report() const { return read_json(report_path()); }
};

/// Every verify count of a clean copy: each copied key checked and equal, nothing else.
void expect_all_equal(const nlohmann::json& verify, std::uint64_t copied) {
  EXPECT_EQ(u64(verify["checked"]), copied) << verify.dump();
  EXPECT_EQ(u64(verify["equal"]), copied) << verify.dump();
  for (const char* kind : {"missing", "value", "type", "expiry", "changed", "differences"}) {
    EXPECT_EQ(u64(verify[kind]), 0u) << kind << ": " << verify.dump();
  }
}

TEST_F(copy_verify_test, standalone_to_tls_standalone_verifies_every_copied_key) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 30;
  const fill_result filled = fill_every_type(source_client, data);
  fill_strings(source_client, 3'000, 100, 7);

  const ferry_result run = copy(source.url(), target.url());
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");
  EXPECT_EQ(debug_digest(source_client), debug_digest(target_client));

  const nlohmann::json r = report();
  const std::uint64_t copied = u64(r["totals"]["copied"]);
  EXPECT_EQ(copied, filled.keys + 3'000);
  EXPECT_EQ(r["status"], "complete");
  expect_all_equal(r["verify"], copied);
  EXPECT_EQ(r["verify"]["sample"], 1.0);
  ASSERT_EQ(r["shards"].size(), 1u);
  expect_all_equal(r["shards"][0]["verify"], copied);
  EXPECT_TRUE(read_json_lines(diff_path()).empty());
  EXPECT_THAT(run.out, HasSubstr("verified "));
  EXPECT_THAT(run.out, HasSubstr("equal "));
}

TEST_F(copy_verify_test, cluster_to_cluster_with_auth_verifies_every_copied_key_per_shard) {
  redis_cluster source;
  cluster_options with_password;
  with_password.node.password = "target secret";
  redis_cluster target(with_password);
  cluster_client source_client = source.client();
  cluster_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 3'000, 64, 4);

  const ferry_result run = copy(source.url(), target.url());
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");

  const nlohmann::json r = report();
  const std::uint64_t copied = u64(r["totals"]["copied"]);
  EXPECT_EQ(copied, dump_keyspace(source_client).size());
  expect_all_equal(r["verify"], copied);
  ASSERT_EQ(r["shards"].size(), 3u);
  for (const auto& shard : r["shards"]) {
    EXPECT_GT(u64(shard["copied"]), 0u);
    expect_all_equal(shard["verify"], u64(shard["copied"]));
  }
}

TEST_F(copy_verify_test, keys_left_alone_under_on_existing_skip_are_not_compared) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 1'000, 20, 1, "str:");
  sync_client target_client = target.client();
  for (int i = 0; i < 10; ++i) {
    target_client.checked({"SET", "str:" + std::to_string(i), "the target's own value"});
  }

  // The ten skipped keys differ, but ferry did not write them: not its copy to judge.
  const ferry_result run = copy(source.url(), target.url(), {"--on-existing", "skip"});
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const nlohmann::json r = report();
  EXPECT_EQ(u64(r["totals"]["skipped"]), 10u);
  EXPECT_EQ(u64(r["totals"]["copied"]), 990u);
  expect_all_equal(r["verify"], 990);
  EXPECT_EQ(target_client.checked({"GET", "str:3"}).str, "the target's own value");
}

TEST_F(copy_verify_test, a_sample_checks_the_keys_their_hash_chooses_on_every_run) {
  redis_server source;
  sync_client source_client = source.client();
  fill_strings(source_client, 20'000, 32, 5, "str:");
  // The keys a 10 % sample must check, computed here from the documented rule.
  std::uint64_t chosen = 0;
  for (int i = 0; i < 20'000; ++i) {
    if (engine::in_sample("str:" + std::to_string(i), 0.1)) ++chosen;
  }
  ASSERT_GT(chosen, 1'700u);
  ASSERT_LT(chosen, 2'300u);

  for (int round = 0; round < 2; ++round) {
    redis_server target;  // a fresh target each time: the same keys are copied and checked
    const ferry_result run = copy(source.url(), target.url(), {"--verify-sample", "0.1"});
    ASSERT_EQ(run.exit_code, 0) << run.output();
    const nlohmann::json r = report();
    EXPECT_EQ(u64(r["totals"]["copied"]), 20'000u);
    EXPECT_EQ(r["verify"]["sample"], 0.1);
    expect_all_equal(r["verify"], chosen);
    EXPECT_THAT(run.out, HasSubstr("sample 0.1"));
  }
}

TEST_F(copy_verify_test, keys_the_target_evicts_are_reported_missing_with_exit_code_1) {
  redis_server source;
  sync_client source_client = source.client();
  fill_strings(source_client, 20'000, 500, 9, "str:");
  // About 10 MB of values into 4 MB that evicts at random: keys vanish soon after ferry wrote
  // them, many before the verifier looks at them.
  server_options small;
  small.maxmemory = "4mb";
  small.extra_args = {"--maxmemory-policy", "allkeys-random"};
  redis_server target(small);

  // Small batches keep the target's query buffers (which count as memory) far below its limit.
  const ferry_result run =
      copy(source.url(), target.url(), {"--batch-bytes", "32KiB", "--threads", "1"});
  // Exit 1 for the differences; or exit 2 when eviction took one of ferry's marks too, which
  // says that the target lost keys (the verifier's findings stand either way).
  ASSERT_TRUE(run.exit_code == 1 || run.exit_code == 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("ferry verify --repair"));
  EXPECT_THAT(run.err, HasSubstr(diff_path().string()));

  const nlohmann::json r = report();
  if (run.exit_code == 2) {
    EXPECT_THAT(run.err, HasSubstr("lost keys")) << run.output();
    EXPECT_EQ(r["status"], "failed");
  } else {
    EXPECT_EQ(r["status"], "differences");
  }
  EXPECT_EQ(u64(r["totals"]["failed"]), 0u);
  const nlohmann::json& v = r["verify"];
  RecordProperty("verify", v.dump());
  EXPECT_GT(u64(v["missing"]), 0u) << v.dump();
  EXPECT_EQ(u64(v["differences"]), u64(v["missing"])) << v.dump();
  if (run.exit_code == 2) {
    // A stopped job compares no more than it copied.
    EXPECT_LE(u64(v["checked"]), u64(r["totals"]["copied"])) << v.dump();
  } else {
    EXPECT_EQ(u64(v["checked"]), u64(r["totals"]["copied"])) << v.dump();
  }

  // Every key reported missing is truly absent, asked by a client of our own.
  const auto lines = read_json_lines(diff_path());
  EXPECT_EQ(lines.size(), u64(v["missing"]));
  sync_client target_client = target.client();
  for (const auto& line : lines) {
    EXPECT_EQ(line["kind"], "missing") << line.dump();
    const std::string key = line["key"].get<std::string>();
    EXPECT_EQ(target_client.checked({"EXISTS", key}).integer, 0) << key;
    EXPECT_EQ(source_client.checked({"EXISTS", key}).integer, 1) << key;
  }
}

TEST_F(copy_verify_test, keys_rewritten_on_a_live_source_are_changed_never_differences) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 20'000, 64, 3, "str:");
  constexpr int hot_keys = 20;
  for (int i = 0; i < hot_keys; ++i)
    source_client.checked({"SET", "hot:" + std::to_string(i), "0"});

  // A writer keeps rewriting the hot keys while ferry copies and verifies them (bounded in time
  // and in count).
  std::atomic<bool> stop{false};
  std::atomic<long> writes{0};
  std::thread writer([&] {
    sync_client live = source.client();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    for (long n = 0; n < 2'000'000 && !stop && std::chrono::steady_clock::now() < until; ++n) {
      live.checked({"SET", "hot:" + std::to_string(n % hot_keys), std::to_string(n)});
      ++writes;
    }
  });
  // Slow enough that every hot key is rewritten between its copy and its comparison.
  const ferry_result run =
      copy(source.url(), target.url(), {"--max-keys-per-sec", "10000", "--threads", "1"});
  stop = true;
  writer.join();
  ASSERT_EQ(run.exit_code, 0) << run.output();
  ASSERT_GT(writes.load(), 1'000);

  const nlohmann::json r = report();
  const nlohmann::json& v = r["verify"];
  RecordProperty("verify", v.dump());
  EXPECT_EQ(u64(v["differences"]), 0u) << v.dump();
  EXPECT_EQ(u64(v["checked"]), u64(r["totals"]["copied"])) << v.dump();
  EXPECT_EQ(u64(v["equal"]) + u64(v["changed"]), u64(v["checked"])) << v.dump();
  EXPECT_GT(u64(v["changed"]), 0u) << "the live writer was too slow to be seen: " << v.dump();
  for (const auto& line : read_json_lines(diff_path())) {
    EXPECT_EQ(line["kind"], "changed") << line.dump();
    EXPECT_THAT(line["key"].get<std::string>(), HasSubstr("hot:"));
  }
}

TEST_F(copy_verify_test,
       an_interrupted_job_drains_the_verifier_and_a_resumed_one_verifies_the_rest) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 40'000, 64, 8, "str:");
  const std::string state = (dir_ / "state.json").string();

  {
    ferry_process ferry(
        arguments(source.url(), target.url(), {"--state", state, "--max-keys-per-sec", "20000"}),
        dir_.path());
    std::this_thread::sleep_for(std::chrono::milliseconds{700});
    ASSERT_TRUE(ferry.running()) << ferry.err_so_far();
    ferry.signal(SIGINT);
    const ferry_result stopped = ferry.wait(std::chrono::seconds{20});
    ASSERT_EQ(stopped.exit_code, 3) << stopped.output();
  }
  const nlohmann::json first = report();
  EXPECT_EQ(first["status"], "interrupted");
  EXPECT_EQ(u64(first["verify"]["differences"]), 0u);
  EXPECT_LE(u64(first["verify"]["checked"]), u64(first["totals"]["copied"]));

  const ferry_result resumed = copy(source.url(), target.url(), {"--state", state, "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  const nlohmann::json second = report();
  // The resumed run verifies what it copies itself; the exact copy is the oracle's to prove.
  expect_all_equal(second["verify"], u64(second["this_run"]["copied"]));
  EXPECT_GT(u64(second["this_run"]["copied"]), 0u);
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");
}

TEST_F(copy_verify_test, a_target_that_dies_stops_the_job_without_hanging_the_verifier) {
  redis_server source;
  auto target = std::make_unique<redis_server>();
  sync_client source_client = source.client();
  fill_strings(source_client, 40'000, 64, 6, "str:");

  ferry_process ferry(arguments(source.url(), target->url(),
                                {"--max-keys-per-sec", "20000", "--max-retry-time", "2",
                                 "--connect-timeout", "500", "--timeout", "1000"}),
                      dir_.path());
  std::this_thread::sleep_for(std::chrono::milliseconds{600});
  ASSERT_TRUE(ferry.running()) << ferry.err_so_far();
  target.reset();  // SIGKILL: writers and comparers lose their connections at once
  const ferry_result run = ferry.wait(std::chrono::seconds{30});
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_LT(run.seconds, 20) << run.output();
  EXPECT_EQ(report()["status"], "failed");
}

TEST_F(copy_verify_test, help_documents_the_options_and_wrong_ones_are_refused) {
  const ferry_result help = run_ferry({"copy", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.output();
  for (const char* option : {"--verify", "--verify-sample", "--diff", "--ttl-tolerance", "--rounds",
                             "Inline verification"}) {
    EXPECT_THAT(help.out, HasSubstr(option));
  }
  const std::string nowhere = "redis://127.0.0.1:1";
  const ferry_result zero =
      run_ferry({"copy", "--source", nowhere, "--target", nowhere, "--verify-sample", "0"});
  EXPECT_EQ(zero.exit_code, 64) << zero.output();
  EXPECT_THAT(zero.err, HasSubstr("--verify-sample"));
  const ferry_result lone_diff =
      run_ferry({"copy", "--source", nowhere, "--target", nowhere, "--diff", "x.jsonl"});
  EXPECT_EQ(lone_diff.exit_code, 64) << lone_diff.output();
  EXPECT_THAT(lone_diff.err, HasSubstr("--diff needs --verify"));
}

}  // namespace
}  // namespace ferry::testing
