// `ferry sync` keeps a live source in step: writers of every type change the source during the
// whole snapshot and after it, stop, and the sync converges (--until-converged exits 0) with a
// target equal to the source by the independent oracle (sorted dump with absolute expiries, and
// DEBUG DIGEST). Standalone into a TLS server, and a 3-master cluster into a TLS cluster.

#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/sync_support.hpp"
#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

class sync_live_test : public ::testing::Test {
 protected:
  temp_dir dir_{"sync-live"};
  tls_material tls_;
  std::filesystem::path state_ = dir_ / "state.json";
  std::filesystem::path report_ = dir_ / "report.json";

  server_options notifying() const {
    server_options options;
    options.extra_args = {"--notify-keyspace-events", "KA"};
    return options;
  }
  server_options tls_server() const {
    server_options options;
    options.tls = make_server_tls(tls_);
    return options;
  }
  std::vector<std::string> args(const std::string& source, const std::string& target,
                                std::vector<std::string> extra) const {
    std::vector<std::string> all{"sync",
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

  /// Writers run from before ferry starts until its snapshot is done and `after` more; then
  /// they stop and ferry must converge on its own.
  ferry_result sync_with_writers(source_writers& writers, const std::vector<std::string>& argv,
                                 std::chrono::milliseconds after) {
    ferry_process ferry(argv, dir_.path());
    const bool streaming =
        wait_until([&] { return snapshot_done(state_) || !ferry.running(); }, 120s);
    EXPECT_TRUE(streaming) << "the snapshot did not end: " << ferry.err_so_far();
    std::this_thread::sleep_for(after);
    EXPECT_TRUE(ferry.running()) << "converged while the source was still written: "
                                 << ferry.err_so_far();
    writers.stop();
    EXPECT_EQ(writers.error(), "");
    EXPECT_GT(writers.ops(), 1000u);
    return ferry.wait(90s);
  }

  void expect_events_applied() const {
    const auto report = read_json(report_);
    EXPECT_EQ(report["status"], "converged");
    EXPECT_EQ(report["snapshot"]["status"], "complete");
    const auto& sync = report["sync"];
    EXPECT_GT(sync["events"].get<std::uint64_t>(), 1000u);
    EXPECT_GT(sync["recopied"].get<std::uint64_t>(), 100u);
    EXPECT_GT(sync["erased"].get<std::uint64_t>(), 10u);
    EXPECT_EQ(sync["dirty_keys"], 0);
    EXPECT_EQ(sync["failed"], 0);
    EXPECT_TRUE(sync["converged"].get<bool>());
    EXPECT_GT(sync["lag"]["count"].get<std::uint64_t>(), 0u);
    EXPECT_GT(sync["lag"]["p99_ms"].get<double>(), 0.0);
    // A key written again and again is re-copied far fewer times than it is written.
    EXPECT_LT(sync["recopied"].get<std::uint64_t>() + sync["erased"].get<std::uint64_t>(),
              sync["events"].get<std::uint64_t>());
  }
};

TEST_F(sync_live_test, standalone_to_tls_with_writers_of_every_type_converges_exact) {
  redis_server source(notifying());
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 20'000, 64, 7);

  source_writers writers([&] { return std::make_unique<sync_client>(source.client()); }, {});
  const ferry_result run =
      sync_with_writers(writers,
                        args(source.url(), target.url(),
                             {"--until-converged", "--settle", "1500", "--max-keys-per-sec", "6000",
                              "--ignore-other-dbs"}),
                        1500ms);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_NE(run.out.find("ferry sync converged"), std::string::npos) << run.out;

  // MOVE took some keys to db 1 of the source, which this job does not copy.
  source_client.checked({"SELECT", "1"});
  source_client.checked({"FLUSHDB"});
  source_client.checked({"SELECT", "0"});
  expect_exact_copy(source_client, target_client);
  expect_events_applied();
  // The marks are gone once the job is over; the state file says it converged.
  EXPECT_EQ(target_client.checked({"KEYS", "ferry:*"}).elements.size(), 0u);
  EXPECT_TRUE(sync_state(state_)["converged"].get<bool>());
}

TEST_F(sync_live_test, cluster_to_tls_cluster_with_writers_of_every_type_converges_exact) {
  cluster_options source_options;
  source_options.node = notifying();
  redis_cluster source(source_options);
  cluster_options target_options;
  target_options.node = tls_server();
  redis_cluster target(target_options);
  cluster_client source_client = source.client();
  cluster_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 20'000, 64, 8);

  source_writers::options options;
  options.cluster = true;
  source_writers writers([&] { return std::make_unique<cluster_client>(source.connect_options()); },
                         options);
  const ferry_result run = sync_with_writers(
      writers,
      args(source.url(), target.url(),
           {"--until-converged", "--settle", "1500", "--max-keys-per-sec", "6000"}),
      1500ms);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  expect_events_applied();
  const auto report = read_json(report_);
  ASSERT_EQ(report["sync"]["shards"].size(), 3u);
  for (const auto& shard : report["sync"]["shards"]) {
    EXPECT_GT(shard["events"].get<std::uint64_t>(), 0u) << shard.dump();
    EXPECT_EQ(shard["phase"], "streaming");
  }
  for (sync_client* master : target_client.masters()) {
    EXPECT_EQ(master->checked({"KEYS", "ferry:*"}).elements.size(), 0u);
  }
}

}  // namespace
}  // namespace ferry::testing
