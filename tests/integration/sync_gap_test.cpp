// Gaps in `ferry sync`'s event stream are detected and closed by a reconcile, and each case ends
// with a target equal to the source (the independent oracle) and a report that names the gap:
// the subscriber killed (CLIENT KILL TYPE pubsub), the pub/sub output buffer limit exceeded,
// FLUSHDB and SWAPDB on the source, ferry SIGKILLed and resumed while writes go on, and a
// source master failover.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "tests/integration/sync_support.hpp"
#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;

class sync_gap_test : public ::testing::Test {
 protected:
  temp_dir dir_{"sync-gap"};
  std::filesystem::path state_ = dir_ / "state.json";
  std::filesystem::path report_ = dir_ / "report.json";

  static server_options notifying(std::vector<std::string> more = {}) {
    server_options options;
    options.extra_args = {"--notify-keyspace-events", "KA"};
    options.extra_args.insert(options.extra_args.end(), more.begin(), more.end());
    return options;
  }
  std::vector<std::string> args(const std::string& source, const std::string& target,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> all{"sync", "--source", source, "--target", target, "--state",
                                 state_.string(), "--report", report_.string(), "--progress",
                                 "never", "--checkpoint-interval", "0.2", "--until-converged",
                                 "--settle", "1500",
                                 // The writers MOVE keys to db 1, which the job does not copy.
                                 "--ignore-other-dbs"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  static void drop_db1(sync_client& source) {
    source.checked({"SELECT", "1"});
    source.checked({"FLUSHDB"});
    source.checked({"SELECT", "0"});
  }
  /// The gaps of the report, with a reconcile that finished for each.
  std::vector<std::string> reconciled_gaps() const {
    const auto report = read_json(report_);
    EXPECT_EQ(report["status"], "converged") << report.dump(2);
    for (const auto& gap : report["sync"]["gaps"]) {
      EXPECT_FALSE(gap["reconcile"]["finished"].get<std::string>().empty()) << gap.dump();
      EXPECT_FALSE(gap["detail"].get<std::string>().empty()) << gap.dump();
    }
    return gap_causes(report);
  }
};

TEST_F(sync_gap_test, a_killed_subscriber_is_a_gap_closed_by_a_reconcile) {
  redis_server source(notifying());
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 5'000, 32, 11);
  source_writers writers([&] { return std::make_unique<sync_client>(source.client()); }, {});
  ferry_process ferry(args(source.url(), target.url()), dir_.path());
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !ferry.running(); }, 60s))
      << ferry.err_so_far();
  std::this_thread::sleep_for(500ms);
  const auto killed = source_client.checked({"CLIENT", "KILL", "TYPE", "pubsub"}).integer;
  EXPECT_GE(killed, 1);
  std::this_thread::sleep_for(1500ms);  // writes go on while ferry reconnects and reconciles
  writers.stop();
  ASSERT_EQ(writers.error(), "");
  const ferry_result run = ferry.wait(90s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  drop_db1(source_client);
  expect_exact_copy(source_client, target_client);
  EXPECT_THAT(reconciled_gaps(), Contains("subscriber_lost"));
  EXPECT_THAT(run.out, HasSubstr("subscriber_lost"));
}

TEST_F(sync_gap_test, a_subscriber_over_the_pubsub_output_buffer_limit_is_a_gap) {
  // Redis 7.4 counts the clients it closed for their output buffers, which names the cause
  // exactly; on 7.0 the gap is a lost subscriber whose detail names the limit among the causes.
  auto limits = notifying({"--client-output-buffer-limit", "pubsub 131072 65536 1"});
  const bool exact_cause = find_server_build("7.4").has_value();
  if (exact_cause) limits.version = "7.4";
  auto source = std::make_unique<redis_server>(limits);
  server_options same_version;  // a 7.4 DUMP does not RESTORE into an older target
  same_version.version = limits.version;
  auto target = std::make_unique<redis_server>(same_version);
  sync_client source_client = source->client();
  sync_client target_client = target->client();
  fill_strings(source_client, 5'000, 32, 12);
  ferry_process ferry(args(source->url(), target->url()), dir_.path());
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !ferry.running(); }, 60s))
      << ferry.err_so_far();
  // While ferry cannot read, a burst of writes piles events up in its output buffer on the
  // server, past the limit: ~11 MB of messages, more than the loopback socket's buffers take
  // (tcp_wmem's 4 MB at most, and a receive buffer that does not grow while ferry is stopped).
  ferry.signal(SIGSTOP);
  std::vector<std::vector<std::string>> burst;
  for (int i = 0; i < 40'000; ++i) {
    burst.push_back({"SET", "burst:" + std::string(200, 'k') + std::to_string(i), "v"});
  }
  source_client.pipeline(burst);
  std::this_thread::sleep_for(1500ms);
  ferry.signal(SIGCONT);
  const ferry_result run = ferry.wait(90s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  const auto causes = reconciled_gaps();
  if (exact_cause) {
    EXPECT_THAT(causes, Contains("output_buffer")) << run.output();
  } else {
    EXPECT_THAT(causes, Contains("subscriber_lost")) << run.output();
    EXPECT_THAT(read_json(report_)["sync"]["gaps"][0]["detail"].get<std::string>(),
                HasSubstr("client-output-buffer-limit pubsub"));
  }
}

TEST_F(sync_gap_test, flushdb_and_swapdb_on_the_source_are_gaps_closed_by_reconciles) {
  redis_server source(notifying());
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 3'000, 32, 13);
  ferry_process ferry(args(source.url(), target.url()), dir_.path());
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !ferry.running(); }, 60s))
      << ferry.err_so_far();
  // FLUSHDB publishes no keyspace event: only the reconcile can empty the target.
  source_client.checked({"FLUSHDB"});
  source_client.checked({"SET", "after:flush", "1"});
  std::this_thread::sleep_for(500ms);
  // SWAPDB neither: db 0 becomes what db 1 held.
  source_client.checked({"SELECT", "1"});
  fill_strings(source_client, 500, 16, 14, "swapped:");
  source_client.checked({"SELECT", "0"});
  source_client.checked({"SWAPDB", "0", "1"});
  const ferry_result run = ferry.wait(90s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  drop_db1(source_client);
  expect_exact_copy(source_client, target_client);
  EXPECT_EQ(target_client.checked({"DBSIZE"}).integer, 500);
  const auto causes = reconciled_gaps();
  EXPECT_THAT(causes, Contains("flushdb"));
  EXPECT_THAT(causes, Contains("swapdb"));
}

TEST_F(sync_gap_test, sigkill_then_resume_while_writes_go_on_ends_exact) {
  redis_server source(notifying());
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 20'000, 32, 15);
  source_writers writers([&] { return std::make_unique<sync_client>(source.client()); }, {});
  {
    // Killed half-way through the snapshot.
    ferry_process first(args(source.url(), target.url(), {"--max-keys-per-sec", "5000"}),
                        dir_.path());
    ASSERT_TRUE(wait_until(
        [&] {
          const auto state = std::filesystem::exists(state_) ? read_json(state_) : nullptr;
          return state.is_object() && state["shards"][0]["counts"]["copied"] > 4000;
        },
        60s))
        << first.err_so_far();
    first.signal(SIGKILL);
    EXPECT_EQ(first.wait(10s).exit_code, 128 + SIGKILL);
  }
  std::this_thread::sleep_for(1s);  // writes ferry does not see
  ferry_process second(args(source.url(), target.url(), {"--resume"}), dir_.path());
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !second.running(); }, 60s))
      << second.err_so_far();
  std::this_thread::sleep_for(1s);
  writers.stop();
  ASSERT_EQ(writers.error(), "");
  const ferry_result run = second.wait(90s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  drop_db1(source_client);
  expect_exact_copy(source_client, target_client);
  EXPECT_THAT(reconciled_gaps(), Contains("resume"));
  EXPECT_TRUE(read_json(report_)["snapshot"]["resumed"].get<bool>());
}

TEST_F(sync_gap_test, a_source_master_failover_is_followed_and_reconciled) {
  cluster_options options;
  options.node = notifying();
  options.replicas_per_master = 1;
  redis_cluster source(options);
  redis_server target;
  cluster_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 6'000, 32, 16);
  source_writers::options writing;
  writing.cluster = true;
  source_writers writers([&] { return std::make_unique<cluster_client>(source.connect_options()); },
                         writing);
  ferry_process ferry(args(source.url(), target.url()), dir_.path());
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !ferry.running(); }, 90s))
      << ferry.err_so_far();
  std::this_thread::sleep_for(500ms);
  // The replica of the first master takes over (the old master becomes its replica).
  sync_client replica = source.replicas()[0]->client();
  replica.checked({"CLUSTER", "FAILOVER"});
  ASSERT_TRUE(wait_until(
      [&] {
        return info_field(replica.checked({"INFO", "replication"}).str, "role") == "master";
      },
      20s));
  source.wait_ready(20s);
  std::this_thread::sleep_for(2s);  // writes go on against the new master
  writers.stop();
  ASSERT_EQ(writers.error(), "");
  const ferry_result run = ferry.wait(90s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  source_client.refresh_slots();
  expect_exact_copy(source_client, target_client);
  EXPECT_THAT(reconciled_gaps(), Contains("failover"));
  const auto report = read_json(report_);
  EXPECT_EQ(report["sync"]["shards"][0]["node"].get<std::string>(),
            "127.0.0.1:" + std::to_string(source.replicas()[0]->port()));
}

}  // namespace
}  // namespace ferry::testing
