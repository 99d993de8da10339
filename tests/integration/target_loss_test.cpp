// A target that loses data never ends in "complete": a node killed mid-copy and started again
// empty (standalone and in a cluster), or with its data from disk, and a --resume onto a target
// that came back empty. Each ends either with exit code 2 and a message saying what was lost and
// how to go on, or (--on-target-loss recopy) exact by the independent oracle.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class target_loss_test : public ::testing::Test {
 protected:
  temp_dir dir_{"target-loss"};
  std::filesystem::path state_ = dir_ / "state.json";
  std::filesystem::path report_ = dir_ / "report.json";

  std::vector<std::string> args(const std::string& source, const std::string& target,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> all{"copy",
                                 "--source",
                                 source,
                                 "--target",
                                 target,
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

  /// Runs ferry and, once it has copied some keys, lets `fault` hit the target; returns how ferry
  /// ended.
  template <class Fault>
  ferry_result copy_through(const std::vector<std::string>& arguments, sync_client& watch,
                            Fault fault) {
    ferry_process ferry(arguments, dir_.path());
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && ferry.running() &&
           watch.checked({"DBSIZE"}).integer < 3'000) {
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(ferry.running()) << "ferry ended before the fault: " << ferry.err_so_far();
    fault();
    return ferry.wait(120s);
  }
};

TEST_F(target_loss_test, a_target_restarted_empty_mid_copy_stops_the_job_and_resume_ends_exact) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 40'000, 100, 3);
  const auto slow = args(source.url(), target.url(), {"--max-keys-per-sec", "8000"});
  ferry_result first;
  {
    sync_client watch = target.client();
    first = copy_through(slow, watch, [&] { target.restart(); });
  }
  // Before the fix: exit 0, "complete", and the target missing the keys written before the kill.
  EXPECT_EQ(first.exit_code, 2) << first.output();
  EXPECT_THAT(first.err, HasSubstr("restarted"));
  EXPECT_THAT(first.err, HasSubstr("--resume"));
  EXPECT_THAT(first.out, Not(HasSubstr("ferry copy complete")));
  EXPECT_EQ(read_json(state_)["status"], "target_lost");

  auto resume = args(source.url(), target.url(), {"--resume"});
  const ferry_result second = run_ferry(resume, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
}

TEST_F(target_loss_test, recopy_goes_back_and_ends_exact_in_one_run) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_every_type(source_client);
  fill_strings(source_client, 40'000, 100, 4);
  const auto slow = args(source.url(), target.url(),
                         {"--max-keys-per-sec", "8000", "--on-target-loss", "recopy"});
  ferry_result run;
  {
    sync_client watch = target.client();
    run = copy_through(slow, watch, [&] { target.restart(); });
  }
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_THAT(run.err, HasSubstr("--on-target-loss recopy"));
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
  EXPECT_EQ(read_json(state_)["status"], "complete");
}

TEST_F(target_loss_test, a_target_restarted_with_its_data_from_disk_is_not_trusted_blindly) {
  // An RDB snapshot taken a moment before the kill: the node comes back with most keys and its
  // old marks, but without those written after the snapshot.
  redis_server source;
  server_options persistent;
  persistent.extra_args = {"--save", "", "--dbfilename", "dump.rdb"};
  redis_server target(persistent);
  sync_client source_client = source.client();
  fill_strings(source_client, 40'000, 100, 5);
  const auto slow = args(source.url(), target.url(),
                         {"--max-keys-per-sec", "8000", "--on-target-loss", "recopy"});
  ferry_result run;
  {
    sync_client watch = target.client();
    run = copy_through(slow, watch, [&] {
      target.client().checked({"SAVE"});
      std::this_thread::sleep_for(500ms);  // keys written after the snapshot are lost below
      target.restart();                    // loads dump.rdb from its dir
    });
  }
  ASSERT_EQ(run.exit_code, 0) << run.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
}

TEST_F(target_loss_test, a_cluster_target_node_restarted_empty_is_noticed) {
  redis_server source;
  redis_cluster target;
  sync_client source_client = source.client();
  fill_strings(source_client, 40'000, 100, 6);
  const auto slow = args(source.url(), target.url(), {"--max-keys-per-sec", "8000"});
  ferry_result first;
  {
    auto watch = target.masters()[1]->client();
    first = copy_through(slow, watch, [&] {
      target.masters()[1]->restart();  // keeps nodes.conf (its identity), loses its keys
      target.wait_ready(20s);
    });
  }
  EXPECT_EQ(first.exit_code, 2) << first.output();
  EXPECT_THAT(first.err, HasSubstr(std::to_string(target.masters()[1]->port())));
  auto resume = args(source.url(), target.url(), {"--resume"});
  const ferry_result second = run_ferry(resume, 120s);
  ASSERT_EQ(second.exit_code, 0) << second.output();
  cluster_client target_client = target.client();
  expect_exact_copy(source_client, target_client, false);
}

TEST_F(target_loss_test, resume_onto_a_target_that_came_back_empty_is_refused_or_recopied) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 40'000, 100, 7);
  const auto slow = args(source.url(), target.url(), {"--max-keys-per-sec", "8000"});
  {
    ferry_process ferry(slow, dir_.path());
    sync_client watch = target.client();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline &&
           watch.checked({"DBSIZE"}).integer < 5'000) {
      std::this_thread::sleep_for(20ms);
    }
    ferry.signal(SIGINT);
    const ferry_result interrupted = ferry.wait(30s);
    ASSERT_EQ(interrupted.exit_code, 3) << interrupted.output();
    EXPECT_THAT(interrupted.err, HasSubstr("--resume"));
  }
  target.restart();  // comes back empty

  auto resume = args(source.url(), target.url(), {"--resume"});
  const ferry_result refused = run_ferry(resume, 60s);
  // Before the fix: exit 0, "complete", a third of the keys missing.
  EXPECT_EQ(refused.exit_code, 2) << refused.output();
  EXPECT_THAT(refused.err, HasSubstr("since the state file was written"));

  resume.insert(resume.end(), {"--on-target-loss", "recopy"});
  const ferry_result recopied = run_ferry(resume, 120s);
  ASSERT_EQ(recopied.exit_code, 0) << recopied.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
}

TEST_F(target_loss_test, the_marks_are_gone_after_a_complete_job) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_every_type(source_client);
  const ferry_result run = run_ferry(args(source.url(), target.url()), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  sync_client target_client = target.client();
  const auto marks = target_client.checked({"KEYS", "ferry:mark:*"});
  EXPECT_TRUE(marks.elements.empty());
  expect_exact_copy(source_client, target_client);
}

}  // namespace
}  // namespace ferry::testing
