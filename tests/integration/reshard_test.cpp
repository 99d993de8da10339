// A source cluster resharded while ferry copies it: slots move (with their keys) between masters
// by the standard procedure (IMPORTING, MIGRATING, MIGRATE, SETSLOT NODE). A key that moves from a
// master whose scan had not reached it to one whose scan had passed its place is seen by neither
// scan; ferry must notice the move and rescan the moved slots on their new owner. Every copy is
// checked against the independent oracle.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

/// Moves slots [first, last] with their keys from master `from` to master `to`, slot by slot, as
/// redis-cli --cluster reshard does. Returns the number of keys moved.
std::size_t move_slots(redis_cluster& cluster, std::size_t from, std::size_t to,
                       std::uint16_t first, std::uint16_t last) {
  sync_client source = cluster.masters()[from]->client();
  sync_client dest = cluster.masters()[to]->client();
  std::vector<sync_client> everyone;
  for (const auto& master : cluster.masters()) everyone.push_back(master->client());
  const std::string& source_id = cluster.master_id(from);
  const std::string& dest_id = cluster.master_id(to);
  const std::string dest_port = std::to_string(cluster.masters()[to]->port());
  std::size_t moved = 0;
  for (std::uint32_t slot = first; slot <= last; ++slot) {
    const std::string s = std::to_string(slot);
    dest.checked({"CLUSTER", "SETSLOT", s, "IMPORTING", source_id});
    source.checked({"CLUSTER", "SETSLOT", s, "MIGRATING", dest_id});
    for (int round = 0; round < 1000; ++round) {
      const reply keys = source.checked({"CLUSTER", "GETKEYSINSLOT", s, "100"});
      if (keys.elements.empty()) break;
      std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", dest_port, "", "0", "10000", "KEYS"};
      for (const auto& key : keys.elements) migrate.push_back(key.str);
      source.checked(migrate);
      moved += keys.elements.size();
    }
    // The new owner first, then the old one, then the rest (as the cluster tutorial says).
    dest.checked({"CLUSTER", "SETSLOT", s, "NODE", dest_id});
    source.checked({"CLUSTER", "SETSLOT", s, "NODE", dest_id});
    for (std::size_t i = 0; i < everyone.size(); ++i) {
      if (i != from && i != to) everyone[i].checked({"CLUSTER", "SETSLOT", s, "NODE", dest_id});
    }
  }
  return moved;
}

class reshard_test : public ::testing::Test {
 protected:
  temp_dir dir_{"reshard"};
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

  /// Fills the source: ~150k small strings plus every type, some with expiry.
  static void fill(cluster_client& source) {
    fill_strings(source, 150'000, 40, 31);
    dataset_options options;
    options.seed = 32;
    fill_every_type(source, options);
  }

  /// Compares source and target with the oracle and checks the report's honesty.
  void expect_exact_copy(cluster_client& source, sync_client& target) {
    source.refresh_slots();
    const keyspace expected = dump_keyspace(source);
    ASSERT_FALSE(expected.empty());
    const keyspace actual = dump_keyspace(target);
    EXPECT_EQ(actual.size(), expected.size()) << "keys on the target vs on the source";
    EXPECT_EQ(diff_keyspaces(expected, actual), "");
    EXPECT_EQ(debug_digest(source), debug_digest(target));
  }
};

TEST_F(reshard_test, slots_moved_both_ways_mid_copy_are_rescanned_and_nothing_is_lost) {
  redis_cluster source;
  redis_server target;
  cluster_client source_client = source.client();
  fill(source_client);

  ferry_process ferry(args(source.url(), target.url(), {"--max-keys-per-sec", "25000"}),
                      dir_.path());
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(ferry.running()) << ferry.err_so_far();
  // 500 slots from master 0 to master 1, and 500 from master 2 to master 0: keys leave shards
  // whose scans are a quarter done for shards whose scans are a quarter done.
  const auto span0 = source.slots_of(0).front();
  const auto span2 = source.slots_of(2).front();
  const std::size_t moved_a =
      move_slots(source, 0, 1, static_cast<std::uint16_t>(span0.last - 499), span0.last);
  const std::size_t moved_b =
      move_slots(source, 2, 0, span2.first, static_cast<std::uint16_t>(span2.first + 499));
  EXPECT_GT(moved_a, 3000u);
  EXPECT_GT(moved_b, 3000u);
  EXPECT_TRUE(ferry.running()) << "the copy ended before the slots had moved";

  const ferry_result run = ferry.wait(60s);
  EXPECT_EQ(run.exit_code, 0) << run.output();
  std::cout << run.out;  // the summary: what the rescan found, for whoever reads the log
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);

  const auto report = read_json(report_);
  const auto& totals = report["totals"];
  EXPECT_GT(totals["rescanned"].get<std::uint64_t>(), 0u) << report.dump(2);
  // A key copied by the first pass and found again by the rescan is not copied twice.
  EXPECT_EQ(totals["copied"].get<std::uint64_t>(),
            static_cast<std::uint64_t>(target_client.checked({"DBSIZE"}).integer))
      << report.dump(2);
  EXPECT_EQ(totals["failed"].get<std::uint64_t>(), 0u);
  EXPECT_THAT(report["warnings"].dump(),
              HasSubstr(fmt::format("{}-{}", span2.first, span2.first + 499)));
  EXPECT_THAT(run.out, HasSubstr("rescanned"));
}

TEST_F(reshard_test, a_job_killed_after_slots_moved_resumes_without_losing_them) {
  redis_cluster source;
  redis_server target;
  cluster_client source_client = source.client();
  fill(source_client);

  {
    ferry_process ferry(args(source.url(), target.url(), {"--max-keys-per-sec", "25000"}),
                        dir_.path());
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(ferry.running()) << ferry.err_so_far();
    const auto span1 = source.slots_of(1).front();
    move_slots(source, 1, 2, static_cast<std::uint16_t>(span1.last - 499), span1.last);
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(ferry.running()) << ferry.err_so_far();
    ferry.signal(SIGKILL);
    EXPECT_EQ(ferry.wait(30s).exit_code, 128 + SIGKILL);
  }
  // More slots move while no ferry runs: the resumed job must notice these too.
  const auto span0 = source.slots_of(0).front();
  move_slots(source, 0, 2, span0.first, static_cast<std::uint16_t>(span0.first + 299));

  const ferry_result resumed = run_ferry(args(source.url(), target.url(), {"--resume"}), 60s);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
  EXPECT_GT(read_json(report_)["totals"]["rescanned"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(read_json(state_)["status"], "complete");
}

}  // namespace
}  // namespace ferry::testing
