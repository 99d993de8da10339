#pragma once
// A Redis Cluster of redis_server nodes, built by hand (SET-CONFIG-EPOCH, ADDSLOTSRANGE, MEET,
// REPLICATE) and returned only once every node agrees on the slot map and reports
// cluster_state:ok.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/cluster_client.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {

/// An inclusive range of slots.
struct slot_span {
  /// First slot.
  std::uint16_t first = 0;
  /// Last slot, inclusive.
  std::uint16_t last = 0;
  /// Equality.
  friend bool operator==(slot_span, slot_span) = default;
};

/// One line of CLUSTER NODES.
struct cluster_node_info {
  /// 40-hex node id.
  std::string id;
  /// Announced IP.
  std::string host;
  /// Client port (the TLS port in a TLS cluster).
  std::uint16_t port = 0;
  /// Comma-separated flags without "myself" (e.g. "master", "slave", "master,fail").
  std::string flags;
  /// True when the flags say master.
  bool master = false;
  /// Id of the master this replica follows; empty for masters.
  std::string master_id;
  /// Slots owned (masters only; migrating/importing markers are ignored).
  std::vector<slot_span> slots;

  /// True when `slot` lies in one of `slots`.
  bool owns(std::uint16_t slot) const noexcept {
    for (const auto& span : slots) {
      if (slot >= span.first && slot <= span.last) {
        return true;
      }
    }
    return false;
  }
};

/// Parses CLUSTER NODES output.
std::vector<cluster_node_info> parse_cluster_nodes(const std::string& text);

/// The live (not fail-flagged) master owning `slot` in `view`, or nullptr.
const cluster_node_info* slot_owner(const std::vector<cluster_node_info>& view, std::uint16_t slot);

/// How many slots live masters of `view` own (16384 when fully covered).
int covered_slots(const std::vector<cluster_node_info>& view);

/// How to build a cluster.
struct cluster_options {
  /// Number of masters; slots are split evenly and contiguously.
  int masters = 3;
  /// Replicas per master (replica i follows master i % masters).
  int replicas_per_master = 0;
  /// Template for every node: version (a cluster of Redis 6.2: `node.version = "6.2"`), TLS
  /// (adds --tls-cluster yes), password, maxmemory, extra args, node timeout. Its `port`,
  /// `cluster_enabled` and `rdb_file` are ignored.
  server_options node;
  /// Bound on each phase of forming the cluster.
  std::chrono::milliseconds ready_timeout{20000};
  /// How many sets of ports to try when one gets taken by another process.
  int max_port_attempts = 10;
};

/// A running cluster. Not movable; destruction kills every node.
class redis_cluster {
 public:
  /// Starts the nodes and forms the cluster; throws with a description of the last state seen.
  explicit redis_cluster(cluster_options options = {});
  /// Kills every node.
  ~redis_cluster();
  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  /// Masters in slot order, as created (roles may change after a failover).
  const std::vector<std::unique_ptr<redis_server>>& masters() const noexcept { return masters_; }
  /// Replicas as created; replica i followed master i % masters.
  const std::vector<std::unique_ptr<redis_server>>& replicas() const noexcept { return replicas_; }
  /// Masters then replicas.
  std::vector<redis_server*> nodes() const;
  /// Pids of every node.
  std::vector<pid_t> pids() const;
  /// Slots assigned to master `index` at creation.
  const std::vector<slot_span>& slots_of(std::size_t index) const { return slots_.at(index); }
  /// Node id of master `index` at creation.
  const std::string& master_id(std::size_t index) const { return master_ids_.at(index); }
  /// URL of the first master (what ferry is given as a seed).
  std::string url() const { return masters_.front()->url(); }
  /// Client options for the first master (TLS and password as for every node).
  client_options connect_options() const { return masters_.front()->connect_options(); }
  /// A routing client seeded with the first reachable node.
  cluster_client client() const;
  /// CLUSTER NODES as seen by the first running node.
  std::vector<cluster_node_info> topology() const;

  /// Waits until every running node reports cluster_state:ok, all running nodes agree on the
  /// nodes, roles, slots and fail flags, and every slot is owned by a master that is not
  /// flagged fail and whose process runs. After killing a master this waits for the failover.
  /// A paused node counts as running (and will make this time out). Throws with the
  /// disagreement after `timeout`.
  void wait_ready(std::chrono::milliseconds timeout) const;

 private:
  void start_nodes();
  void form();
  void wait_for(const std::string& what, std::chrono::milliseconds timeout,
                const std::function<std::string()>& problem) const;

  cluster_options options_;
  std::vector<std::unique_ptr<redis_server>> masters_;
  std::vector<std::unique_ptr<redis_server>> replicas_;
  std::vector<std::vector<slot_span>> slots_;
  std::vector<std::string> master_ids_;
};

}  // namespace ferry::testing
