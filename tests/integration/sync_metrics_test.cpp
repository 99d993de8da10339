// `ferry sync --metrics` and `--resume-if-exists` on real servers:
// - scraped over HTTP while writers change the source, ferry_sync_events_total grows, the shard
//   is streaming, and once the writers stop ferry_sync_converged becomes 1; promtool accepts
//   the scrapes taken while streaming and once converged;
// - the command line of deploy/systemd/ferry-sync@.service (--state and --resume-if-exists)
//   starts a job when there is no state file, and after SIGTERM the very same command resumes
//   it and ends with a target equal to the source (the independent oracle).

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

#include "tests/integration/metrics_support.hpp"
#include "tests/integration/sync_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

class sync_metrics_test : public ::testing::Test {
 protected:
  temp_dir dir_{"sync-metrics"};
  std::filesystem::path state_ = dir_ / "state.json";
  std::filesystem::path report_ = dir_ / "report.json";

  static server_options notifying() {
    server_options options;
    options.extra_args = {"--notify-keyspace-events", "KA"};
    return options;
  }
  std::vector<std::string> args(const std::string& source, const std::string& target,
                                std::vector<std::string> extra) const {
    std::vector<std::string> all{"sync",
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
                                 "0.2",
                                 "--ignore-other-dbs"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  static void drop_db1(sync_client& source) {
    source.checked({"SELECT", "1"});
    source.checked({"FLUSHDB"});
    source.checked({"SELECT", "0"});
  }
};

TEST_F(sync_metrics_test, a_streaming_sync_serves_growing_event_counts_then_converged) {
  redis_server source(notifying());
  redis_server target;
  sync_client source_client = source.client();
  fill_every_type(source_client);
  fill_strings(source_client, 5'000, 32, 3);
  // No keys expiring within a second: their expiries would go on changing the source after the
  // writers stopped.
  source_writers::options quiet_after_stop;
  quiet_after_stop.short_ttls = false;
  source_writers writers([&] { return std::make_unique<sync_client>(source.client()); },
                         quiet_after_stop);
  ferry_process ferry(args(source.url(), target.url(), {"--metrics", "127.0.0.1:0"}), dir_.path());
  const std::uint16_t port = metrics_port(ferry);
  ASSERT_NE(port, 0) << ferry.err_so_far();
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !ferry.running(); }, 60s))
      << ferry.err_so_far();
  ASSERT_TRUE(ferry.running()) << ferry.err_so_far();

  const std::string shard = "127.0.0.1:" + std::to_string(source.port());
  const std::string first = http_get(port, "/metrics").body;
  const double events_before = sum_of(first, "ferry_sync_events_total").value_or(-1);
  std::this_thread::sleep_for(1500ms);
  const std::string streaming = http_get(port, "/metrics").body;
  const double events_after = sum_of(streaming, "ferry_sync_events_total").value_or(-1);
  EXPECT_GT(events_after, events_before) << streaming;
  EXPECT_GT(events_before, 0) << first;
  EXPECT_EQ(value_of(streaming,
                     R"(ferry_job_info{command="sync",version=")" FERRY_PROJECT_VERSION R"("})"),
            1)
      << streaming;
  EXPECT_EQ(value_of(streaming, R"(ferry_job_phase{phase="running"})"), 1);
  EXPECT_EQ(value_of(streaming, "ferry_sync_phase{shard=\"" + shard + "\",phase=\"snapshot\"}"), 0)
      << streaming;
  EXPECT_GT(sum_of(streaming, "ferry_sync_events_applied_total").value_or(0), 0) << streaming;
  EXPECT_GT(sum_of(streaming, "ferry_sync_lag_seconds_count").value_or(0), 0) << streaming;
  EXPECT_EQ(value_of(streaming, "ferry_shard_complete{shard=\"" + shard + "\"}"), 1) << streaming;
  // (ferry_sync_converged may be 1 now and then while writes go on: the dirty set empties
  // between the writers' pipelines.)

  writers.stop();
  ASSERT_EQ(writers.error(), "");
  std::string converged;
  const bool became = wait_until(
      [&] {
        converged = http_get(port, "/metrics").body;
        return value_of(converged, "ferry_sync_converged") == 1.0 &&
               value_of(converged, "ferry_sync_dirty_keys{shard=\"" + shard + "\"}") == 0.0;
      },
      60s);
  EXPECT_TRUE(became) << converged;
  // A quiet source stays converged.
  std::this_thread::sleep_for(1s);
  const std::string later = http_get(port, "/metrics").body;
  EXPECT_EQ(value_of(later, "ferry_sync_converged"), 1) << later;
  EXPECT_EQ(value_of(later, R"(ferry_job_phase{phase="running"})"), 1) << later;
  EXPECT_GE(sum_of(converged, "ferry_sync_events_total").value_or(0), events_after);
  EXPECT_EQ(http_get(port, "/healthz").body, "ok\n");
  EXPECT_EQ(promtool_problems(streaming, dir_.path()), "") << streaming;
  EXPECT_EQ(promtool_problems(converged, dir_.path()), "") << converged;

  ferry.signal(SIGTERM);
  const ferry_result run = ferry.wait(60s);
  EXPECT_EQ(run.exit_code, 3) << run.output();
}

TEST_F(sync_metrics_test, resume_if_exists_starts_then_resumes_the_same_command) {
  redis_server source(notifying());
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 20'000, 32, 5);
  ASSERT_FALSE(std::filesystem::exists(state_));
  const auto command = args(source.url(), target.url(),
                            {"--resume-if-exists", "--until-converged", "--settle", "1000",
                             "--max-keys-per-sec", "5000"});
  source_writers writers([&] { return std::make_unique<sync_client>(source.client()); }, {});
  {
    ferry_process first(command, dir_.path());
    ASSERT_TRUE(wait_until(
        [&] {
          const auto state = std::filesystem::exists(state_) ? read_json(state_) : nullptr;
          return state.is_object() && state["shards"][0]["counts"]["copied"] > 4000;
        },
        60s))
        << first.err_so_far();
    first.signal(SIGTERM);
    const ferry_result stopped = first.wait(60s);
    ASSERT_EQ(stopped.exit_code, 3) << stopped.output();
    EXPECT_EQ(stopped.out.find("resumed from a state file"), std::string::npos) << stopped.out;
    EXPECT_FALSE(read_json(report_)["snapshot"]["resumed"].get<bool>());
  }
  std::this_thread::sleep_for(500ms);  // writes no ferry sees
  ferry_process second(command, dir_.path());
  ASSERT_TRUE(wait_until([&] { return snapshot_done(state_) || !second.running(); }, 60s))
      << second.err_so_far();
  std::this_thread::sleep_for(1s);
  writers.stop();
  ASSERT_EQ(writers.error(), "");
  const ferry_result run = second.wait(90s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_NE(run.out.find("resumed from a state file"), std::string::npos) << run.out;
  EXPECT_TRUE(read_json(report_)["snapshot"]["resumed"].get<bool>());
  drop_db1(source_client);
  expect_exact_copy(source_client, target_client);
}

}  // namespace
}  // namespace ferry::testing
