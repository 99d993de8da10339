// `ferry verify` with a 3-master cluster on either side (plain and TLS): keys are read on the
// master that owns their slot, extra keys are found on every target master, and a repair lands
// on the right master.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/verify_support.hpp"
#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/expectations.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/tls_material.hpp"

#ifndef FERRY_BINARY
#error "FERRY_BINARY must name the ferry executable"
#endif

namespace ferry::testing {
namespace {

dataset_options small_dataset() {
  dataset_options data;
  data.count_per_kind = 20;
  data.big_per_kind = 2;
  data.with_expiry_fraction = 0.3;
  data.expiry_base_ms = now_ms();
  return data;
}

TEST(verify_topology, cluster_source_against_a_standalone_target) {
  temp_dir dir("verify-cluster");
  redis_cluster source;
  redis_server target;
  cluster_client source_client = source.client();
  sync_client target_client = target.client();
  const dataset_options data = small_dataset();
  const fill_result filled = fill_every_type(source_client, data);
  fill_every_type(target_client, data);
  fill_strings(source_client, 5000, 16, 9);
  fill_strings(target_client, 5000, 16, 9);

  const verify_run equal(dir, source.url(), target.url());
  ASSERT_EQ(equal.result.exit_code, 0) << equal.result.output() << equal.diff_text();
  EXPECT_EQ(equal.totals()["checked"], filled.keys + 5000);
  EXPECT_EQ(equal.report()["shards"], 3);

  const auto expected = plant_differences(target_client, dump_keyspace(source_client));
  const verify_run found(dir, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(), expected) << found.diff_text();
}

TEST(verify_topology, standalone_source_against_a_tls_cluster_target_with_repair) {
  temp_dir dir("verify-cluster-target");
  tls_material tls;
  redis_server source;
  cluster_options options;
  options.node.tls = make_server_tls(tls);
  redis_cluster target(options);
  sync_client source_client = source.client();
  cluster_client target_client = target.client();
  const dataset_options data = small_dataset();
  fill_every_type(source_client, data);
  fill_every_type(target_client, data);
  const std::vector<std::string> cacert{"--cacert", tls.ca().cert.string()};

  const verify_run equal(dir, source.url(), target.url(), cacert);
  ASSERT_EQ(equal.result.exit_code, 0) << equal.result.output() << equal.diff_text();

  const auto expected = plant_differences(target_client, dump_keyspace(source_client));
  // An extra key on every target master, so that each master's scan must find its own.
  std::map<std::string, std::string> planted = expected;
  for (std::size_t m = 0; m < target.masters().size(); ++m) {
    const auto& span = target.slots_of(m).front();
    const std::string key = key_in_slots(span.first, span.last, "extra-on-master-");
    target_client.checked({"SET", key, "x"});
    planted[key] = "extra";
  }
  const verify_run found(dir, source.url(), target.url(), cacert);
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(), planted) << found.diff_text();

  std::vector<std::string> repair = cacert;
  repair.insert(repair.end(), {"--repair", "--repair-delete-extra"});
  const verify_run repaired(dir, source.url(), target.url(), repair);
  EXPECT_EQ(repaired.result.exit_code, 0) << repaired.result.output() << repaired.diff_text();
  EXPECT_EQ(repaired.totals()["repaired"], planted.size());
  EXPECT_TRUE(keyspaces_equal(dump_keyspace(source_client), dump_keyspace(target_client)));
  EXPECT_EQ(debug_digest(source_client), debug_digest(target_client));
}

}  // namespace
}  // namespace ferry::testing
