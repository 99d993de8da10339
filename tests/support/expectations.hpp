#pragma once
// GoogleTest predicates over the harness's oracles, so that every integration test states
// exactness the same way and fails with a readable explanation:
//   EXPECT_TRUE(keyspaces_equal(dump_keyspace(source), dump_keyspace(target)));

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"

namespace ferry::testing {

/// Success when the dumps are equal; otherwise the first differences from `diff_keyspaces`.
::testing::AssertionResult keyspaces_equal(const keyspace& expected, const keyspace& actual);

/// Success when none of `pids` is alive (zombies count as gone) within `timeout`.
::testing::AssertionResult processes_gone(
    const std::vector<pid_t>& pids, std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Success when every node says cluster_state:ok with all 16384 slots assigned and the agreed
/// topology still has the masters, ids and slot ranges the cluster was created with, and
/// replica r still follows master r % masters.
::testing::AssertionResult cluster_matches_creation(const redis_cluster& cluster);

/// Success when, for each key, CLUSTER KEYSLOT agrees with `key_hash_slot`, the key exists on
/// the master owning its slot per CLUSTER NODES, and every other master answers MOVED.
::testing::AssertionResult keys_live_on_owning_masters(const redis_cluster& cluster,
                                                       const std::vector<std::string>& keys);

/// DBSIZE summed over every shard of `target`.
long long total_dbsize(key_router& target);

}  // namespace ferry::testing
