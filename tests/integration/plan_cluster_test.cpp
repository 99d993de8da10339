// `ferry plan` of a 3-master cluster source: every master inspected, sampled in proportion to
// its keys and probed; the OSS clustering policy advised; and a cluster target's checks.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/plan_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

TEST(plan_cluster, a_three_master_cluster_is_inspected_sampled_and_probed_per_master) {
  temp_dir dir("plan-cluster");
  redis_cluster cluster;
  cluster_client client = cluster.client();
  dataset_options data;
  data.count_per_kind = 30;
  data.big_per_kind = 1;
  const fill_result filled = fill_every_type(client, data);
  std::map<std::string, long long> sizes;  // by "127.0.0.1:port"
  for (const auto& master : cluster.masters()) {
    sizes["127.0.0.1:" + std::to_string(master->port())] =
        master->client().checked({"DBSIZE"}).integer;
  }

  const plan_run run = run_plan({"--source", cluster.url(), "--sample", "150"}, dir);
  ASSERT_EQ(run.result.exit_code, 1) << run.result.output();
  const auto& source = run.json["source"];
  EXPECT_TRUE(source["cluster"].get<bool>());
  ASSERT_EQ(source["masters"].size(), 3u);
  EXPECT_EQ(source["keys"], filled.keys);
  long long sampled = 0;
  for (const auto& m : source["masters"]) {
    const std::string address = m["address"];
    ASSERT_TRUE(sizes.count(address)) << address;
    EXPECT_EQ(m["dbsize"], sizes[address]) << address;
    // A share of the 150 in proportion to the master's keys (rounded up), all found.
    const long long share = static_cast<long long>(
        std::ceil(150.0 * static_cast<double>(sizes[address]) / static_cast<double>(filled.keys)));
    EXPECT_EQ(m["sampled_keys"], std::min(share, sizes[address])) << address;
    sampled += m["sampled_keys"].get<long long>();
    EXPECT_GT(m["dump_probe"]["keys_per_sec"].get<double>(), 0) << address;
    EXPECT_EQ(m["role"], "master");
  }
  EXPECT_EQ(run.json["sample"]["keys"], sampled);
  EXPECT_GE(sampled, 150);
  EXPECT_LE(sampled, 153);
  EXPECT_EQ(run.json["estimates"]["time"]["master_seconds"].size(), 3u);
  EXPECT_THAT(run.json["estimates"]["clustering"].get<std::string>(),
              HasSubstr("OSS clustering policy"));
  EXPECT_EQ(run.codes(), (std::set<std::string>{"notifications_off", "no_target", "sample_only"}))
      << listed(run.codes());
  EXPECT_THAT(run.result.out, HasSubstr("OSS cluster, 3 masters"));
}

TEST(plan_cluster, a_standalone_source_into_a_cluster_target_names_its_multi_key_commands) {
  temp_dir dir("plan-cluster-target");
  redis_server source;
  redis_cluster target;
  sync_client client = source.client();
  fill_strings(client, 200, 10);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});
  client.checked({"MSET", "a", "1", "b", "2"});
  client.checked({"SUNIONSTORE", "u", "a-set", "b-set"});

  const plan_run run = run_plan({"--source", source.url(), "--target", target.url()}, dir);
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.codes(), (std::set<std::string>{"cluster_multi_key"})) << listed(run.codes());
  const std::string message = run.finding("cluster_multi_key")["message"];
  EXPECT_THAT(message, HasSubstr("mset (1 calls)"));
  EXPECT_THAT(message, HasSubstr("sunionstore (1 calls)"));
  EXPECT_TRUE(run.json["target"]["cluster"].get<bool>());
  EXPECT_EQ(run.json["target"]["masters"].size(), 3u);
}

}  // namespace
}  // namespace ferry::testing
