// The long-lived job: checkpoint and resume after SIGKILL and SIGTERM, reconnects after killed
// connections and a frozen target, a source failover, a target out of memory, and rate limits.
// Every copy is checked against the independent oracle.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
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

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class long_job_test : public ::testing::Test {
 protected:
  temp_dir dir_{"long-job"};
  tls_material tls_;
  std::filesystem::path state_ = dir_ / "state.json";
  std::filesystem::path report_ = dir_ / "report.json";

  server_options tls_server() const {
    server_options options;
    options.tls = make_server_tls(tls_);
    return options;
  }
  std::vector<std::string> args(const std::string& source, const std::string& target,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> all{"copy",
                                 "--source",
                                 source,
                                 "--target",
                                 target,
                                 "--cacert",
                                 tls_.ca().cert.string(),
                                 "--state",
                                 state_.string(),
                                 "--report",
                                 report_.string(),
                                 "--progress",
                                 "never",
                                 "--checkpoint-interval",
                                 "0.2"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  /// Starts ferry, lets it work for `after`, and sends `signal_number`.
  ferry_result interrupt(const std::vector<std::string>& arguments, std::chrono::milliseconds after,
                         int signal_number) {
    ferry_process ferry(arguments, dir_.path());
    std::this_thread::sleep_for(after);
    EXPECT_TRUE(ferry.running()) << "ferry ended before it could be interrupted: "
                                 << ferry.err_so_far();
    ferry.signal(signal_number);
    return ferry.wait(30s);
  }
};

TEST_F(long_job_test, sigkill_at_several_points_then_resume_ends_exact_without_starting_over) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 150'000, 100, 21);
  const auto slow = args(source.url(), target.url(), {"--max-keys-per-sec", "30000"});

  const ferry_result first = interrupt(slow, 1200ms, SIGKILL);
  EXPECT_EQ(first.exit_code, 128 + SIGKILL);
  const auto after_first = read_json(state_);
  const std::uint64_t first_copied = after_first["shards"][0]["counts"]["copied"];
  EXPECT_GT(first_copied, 0u);
  EXPECT_FALSE(after_first["shards"][0]["complete"].get<bool>());

  auto resume = slow;
  resume.push_back("--resume");
  const ferry_result second = interrupt(resume, 1200ms, SIGKILL);
  EXPECT_EQ(second.exit_code, 128 + SIGKILL);
  const std::uint64_t second_copied = read_json(state_)["shards"][0]["counts"]["copied"];
  EXPECT_GT(second_copied, first_copied) << "the second run went on from the first";

  auto last = args(source.url(), target.url(), {"--resume"});
  const ferry_result third = run_ferry(last, 120s);
  ASSERT_EQ(third.exit_code, 0) << third.output();
  expect_exact_copy(source_client, target_client);

  const auto report = read_json(report_);
  EXPECT_TRUE(report["resumed"].get<bool>());
  EXPECT_NE(report["shards"][0]["start_cursor"], "0");
  const std::uint64_t scanned_now = report["this_run"]["scanned"];
  const std::uint64_t total = report["totals"]["scanned"];
  EXPECT_LT(scanned_now, total) << "the resumed run must not start over";
  EXPECT_EQ(report["totals"]["copied"].get<std::uint64_t>(),
            static_cast<std::uint64_t>(target_client.checked({"DBSIZE"}).integer));
  EXPECT_THAT(third.out, HasSubstr("resumed from a state file"));
  EXPECT_EQ(read_json(state_)["status"], "complete");
}

TEST_F(long_job_test, sigterm_drains_checkpoints_and_resume_is_exact) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 100'000, 100, 22);
  fill_every_type(source_client);

  const ferry_result stopped =
      interrupt(args(source.url(), target.url(), {"--max-keys-per-sec", "25000"}), 1000ms, SIGTERM);
  EXPECT_EQ(stopped.exit_code, 3) << stopped.output();
  EXPECT_THAT(stopped.err, HasSubstr("SIGTERM"));
  const auto state = read_json(state_);
  EXPECT_EQ(state["status"], "interrupted");
  // The checkpoint covers only keys on the target.
  EXPECT_LE(state["shards"][0]["counts"]["copied"].get<std::uint64_t>(),
            static_cast<std::uint64_t>(target_client.checked({"DBSIZE"}).integer));

  const ferry_result resumed = run_ferry(args(source.url(), target.url(), {"--resume"}), 120s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  expect_exact_copy(source_client, target_client);
}

TEST_F(long_job_test, killed_connections_and_a_frozen_target_are_survived) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  fill_strings(source_client, 120'000, 100, 23);
  fill_every_type(source_client);

  ferry_process ferry(
      args(source.url(), target.url(), {"--max-keys-per-sec", "25000", "--timeout", "1000"}),
      dir_.path());
  std::this_thread::sleep_for(1000ms);
  {
    sync_client admin = target.client();
    const auto killed = admin.checked({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
    EXPECT_GT(killed.integer, 0) << "ferry's writers should have been connected";
  }
  std::this_thread::sleep_for(700ms);
  target.pause();  // frozen for longer than --timeout
  std::this_thread::sleep_for(2500ms);
  target.resume();
  const ferry_result run = ferry.wait(120s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
  EXPECT_GT(read_json(report_)["totals"]["retries"].get<std::uint64_t>(), 0u);
}

TEST_F(long_job_test, a_source_master_failed_over_mid_copy) {
  cluster_options with_replicas;
  with_replicas.replicas_per_master = 1;
  redis_cluster source(with_replicas);
  redis_server target(tls_server());
  cluster_client source_client = source.client();
  fill_strings(source_client, 90'000, 100, 24);
  fill_every_type(source_client);

  ferry_process ferry(args(source.url(), target.url(), {"--max-keys-per-sec", "30000"}),
                      dir_.path());
  std::this_thread::sleep_for(1000ms);
  {
    sync_client replica = source.replicas().front()->client();
    replica.checked({"CLUSTER", "FAILOVER"});
  }
  const ferry_result run = ferry.wait(120s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  source.wait_ready(20s);
  source_client.refresh_slots();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
}

TEST_F(long_job_test, read_from_replicas_leaves_the_masters_alone) {
  cluster_options with_replicas;
  with_replicas.replicas_per_master = 1;
  redis_cluster source(with_replicas);
  redis_server target(tls_server());
  cluster_client source_client = source.client();
  // No consumer groups here: Redis 7.0 replicas do not replicate a group's entries-read, so a
  // stream read from a replica differs there (documented with --read-from).
  fill_strings(source_client, 20'000, 100, 28);
  source_client.pipeline({{"HSET", "h", "f", "v"},
                          {"RPUSH", "l", "a", "b"},
                          {"SADD", "s", "1"},
                          {"ZADD", "z", "1.5", "m"},
                          {"XADD", "x", "1-1", "f", "v"},
                          {"SET", "e", "v", "PX", "3600000"}});
  // The replicas must have caught up before they are read.
  for (const auto& master : source.masters()) {
    sync_client client = master->client();
    EXPECT_EQ(client.checked({"WAIT", "1", "5000"}).integer, 1);
  }
  auto dumps = [](redis_server& node) {
    sync_client client = node.client();
    const std::string stats = client.checked({"INFO", "commandstats"}).str;
    const auto at = stats.find("cmdstat_dump:calls=");
    return at == std::string::npos ? 0L : std::stol(stats.substr(at + 19));
  };
  const ferry_result run =
      run_ferry(args(source.url(), target.url(), {"--read-from", "replicas"}), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
  // The keys are read on the replicas. The seed master still answers the version probe before
  // the copy: one DUMP of one small key (under 64 KiB) to learn its payload version (struct
  // mode's side_versions; to move to a replica too).
  long master_dumps = 0;
  for (const auto& master : source.masters()) master_dumps += dumps(*master);
  EXPECT_LE(master_dumps, 1);
  for (const auto& replica : source.replicas()) EXPECT_GT(dumps(*replica), 0);
}

TEST_F(long_job_test, a_full_target_stops_with_advice_and_resumes_after_maxmemory_is_raised) {
  redis_server source;
  server_options small = tls_server();
  small.maxmemory = "6mb";
  redis_server target(small);
  sync_client source_client = source.client();
  fill_strings(source_client, 100'000, 100, 25);

  const ferry_result full = run_ferry(args(source.url(), target.url()), 120s);
  EXPECT_EQ(full.exit_code, 2) << full.output();
  EXPECT_THAT(full.err, HasSubstr("out of memory"));
  EXPECT_THAT(full.err, HasSubstr(std::to_string(target.port())));
  EXPECT_THAT(full.err, HasSubstr("maxmemory"));
  EXPECT_THAT(full.err, HasSubstr("remain to be copied"));
  EXPECT_THAT(full.err, HasSubstr("--resume"));
  EXPECT_EQ(read_json(state_)["status"], "failed");

  sync_client target_client = target.client();
  target_client.checked({"CONFIG", "SET", "maxmemory", "0"});
  const ferry_result resumed = run_ferry(args(source.url(), target.url(), {"--resume"}), 120s);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  expect_exact_copy(source_client, target_client);
}

TEST_F(long_job_test, a_state_file_of_another_job_is_refused) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  fill_strings(source_client, 1'000, 10, 26);
  ASSERT_EQ(run_ferry(args(source.url(), target.url())).exit_code, 0);
  // Starting over on an existing state file, or resuming with other filters, is refused.
  const ferry_result again = run_ferry(args(source.url(), target.url()));
  EXPECT_EQ(again.exit_code, 2) << again.output();
  EXPECT_THAT(again.err, HasSubstr("--resume"));
  const ferry_result other =
      run_ferry(args(source.url(), target.url(), {"--resume", "--match", "str:1*"}));
  EXPECT_EQ(other.exit_code, 2) << other.output();
  EXPECT_THAT(other.err, HasSubstr("--match"));
}

TEST_F(long_job_test, max_keys_per_sec_is_held_within_ten_percent) {
  redis_server source;
  redis_server target(tls_server());
  sync_client source_client = source.client();
  fill_strings(source_client, 50'000, 50, 27);
  const ferry_result run =
      run_ferry(args(source.url(), target.url(), {"--max-keys-per-sec", "5000"}), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto report = read_json(report_);
  const double rate =
      report["totals"]["copied"].get<double>() / report["totals"]["duration_s"].get<double>();
  EXPECT_NEAR(rate, 5000.0, 500.0) << "over " << report["totals"]["duration_s"] << " s";
  EXPECT_GE(report["totals"]["duration_s"].get<double>(), 9.0);
}

}  // namespace
}  // namespace ferry::testing
