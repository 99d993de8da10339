#include "tests/support/expectations.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tests/support/process.hpp"

namespace ferry::testing {

::testing::AssertionResult keyspaces_equal(const keyspace& expected, const keyspace& actual) {
  const std::string diff = diff_keyspaces(expected, actual);
  if (diff.empty()) {
    return ::testing::AssertionSuccess() << expected.size() << " keys equal";
  }
  return ::testing::AssertionFailure() << diff;
}

::testing::AssertionResult processes_gone(const std::vector<pid_t>& pids,
                                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const pid_t pid : pids) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!wait_process_gone(pid, std::max(left, std::chrono::milliseconds(0)))) {
      return ::testing::AssertionFailure()
             << "process " << pid << " is still alive after " << timeout.count() << " ms";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult cluster_matches_creation(const redis_cluster& cluster) {
  for (auto* node : cluster.nodes()) {
    const auto info = node->client().checked({"CLUSTER", "INFO"}).str;
    if (info_field(info, "cluster_state") != "ok" ||
        info_field(info, "cluster_slots_assigned") != "16384") {
      return ::testing::AssertionFailure() << "node " << node->port() << ":\n" << info;
    }
  }
  const auto view = cluster.topology();
  if (covered_slots(view) != cluster_slots) {
    return ::testing::AssertionFailure() << covered_slots(view) << " slots covered";
  }
  for (std::size_t i = 0; i < cluster.masters().size(); ++i) {
    const auto port = cluster.masters()[i]->port();
    const auto it = std::find_if(view.begin(), view.end(),
                                 [&](const cluster_node_info& n) { return n.port == port; });
    if (it == view.end() || !it->master || it->id != cluster.master_id(i) ||
        it->slots != cluster.slots_of(i)) {
      return ::testing::AssertionFailure()
             << "master " << i << " (port " << port << ") is not as created";
    }
  }
  for (std::size_t r = 0; r < cluster.replicas().size(); ++r) {
    const auto port = cluster.replicas()[r]->port();
    const auto it = std::find_if(view.begin(), view.end(),
                                 [&](const cluster_node_info& n) { return n.port == port; });
    const auto& expected_master = cluster.master_id(r % cluster.masters().size());
    if (it == view.end() || it->master || it->master_id != expected_master) {
      return ::testing::AssertionFailure()
             << "replica " << r << " (port " << port << ") does not follow " << expected_master;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult keys_live_on_owning_masters(const redis_cluster& cluster,
                                                       const std::vector<std::string>& keys) {
  const auto view = cluster.topology();
  cluster_client router = cluster.client();
  sync_client& any = *router.masters().front();
  for (const auto& key : keys) {
    const auto slot = key_hash_slot(key);
    const auto server_slot = any.checked({"CLUSTER", "KEYSLOT", key}).integer;
    if (server_slot != slot) {
      return ::testing::AssertionFailure() << "key \"" << printable(key) << "\": slot " << slot
                                           << " but CLUSTER KEYSLOT says " << server_slot;
    }
    const cluster_node_info* owner = slot_owner(view, slot);
    if (owner == nullptr) {
      return ::testing::AssertionFailure() << "slot " << slot << " has no owner";
    }
    for (const auto& node : view) {
      if (!node.master || node.slots.empty()) {
        continue;
      }
      const reply got = router.node(node.host, node.port).command({"EXISTS", key});
      const bool ok = &node == owner ? got.kind == reply_kind::integer && got.integer == 1
                                     : got.is_error() && got.str.rfind("MOVED", 0) == 0;
      if (!ok) {
        return ::testing::AssertionFailure()
               << "key \"" << printable(key) << "\" (slot " << slot << ", owner port "
               << owner->port << "): EXISTS on port " << node.port << " gave " << to_string(got);
      }
    }
  }
  return ::testing::AssertionSuccess();
}

long long total_dbsize(key_router& target) {
  long long total = 0;
  for (sync_client* shard : target.shard_clients()) {
    total += shard->checked({"DBSIZE"}).integer;
  }
  return total;
}

}  // namespace ferry::testing
