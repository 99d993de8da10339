#pragma once
// Following a cluster source while a sync runs: which node each shard subscribes to and reads,
// and which slots it keeps in step, from each look at the slot map.
//
// A shard is the group of a master it started with: that master and its replicas. A failover
// promotes a replica of the group, so the shard moves its home to the new master (or, reading
// from replicas, to a replica of it) and reconciles its slots. Resharding moves slots to a master
// of another group: the shard that had them lets them go and the one that has them now takes
// them and reconciles them. Slots a master of no known group serves (a master added after the
// sync began) cannot be followed. Pure (tests/unit/sync_topology_test.cpp); the I/O is
// cluster_look.
//
// Thread: the job's calling thread.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/runtime/result.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/slots.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// What the job believes about one shard.
struct shard_view {
  /// Node ids of its group (the master it started with, its replicas, and those seen since).
  std::set<std::string> group;
  /// The node it subscribes to and reads now (a master, or a replica with --read-from replicas).
  std::string home_id;
  /// The slots it keeps in step.
  protocol::slot_set slots;
};

/// What one look means for the shards.
struct topology_moves {
  /// A shard whose home must move (a failover in its group).
  struct home_move {
    std::size_t shard = 0;
    protocol::cluster_node node;
    bool replica = false;
    protocol::endpoint master;  // the master of the new home (the probe's writes)
  };
  /// Slots that leave one shard for another (resharding).
  struct slot_move {
    std::size_t from = 0, to = 0;
    protocol::slot_set slots;
  };
  std::vector<home_move> homes;
  std::vector<slot_move> slots;
  /// Slots served by masters of no known group.
  protocol::slot_set unowned;
};

/// Compares `map` with `shards` and updates `shards` (groups, homes, slots) to match it.
topology_moves follow(const protocol::topology& map, std::vector<shard_view>& shards,
                      bool read_from_replicas);

/// The node to read and subscribe to for master `master` of `map`: the master, or (replicas) its
/// replica `prefer` when it still is one, else its first replica, else the master itself.
const protocol::cluster_node& home_for(const protocol::topology& map,
                                       const protocol::cluster_node& master,
                                       bool read_from_replicas, const std::string& prefer);

/// Reads a cluster source's slot map now and then, from the seed or any node seen since, over
/// connections kept open between looks (blocking, on a private io_context).
class cluster_look {
 public:
  /// Looks at the cluster of `seed`, whose nodes `known` lists.
  cluster_look(protocol::connection_options seed, const protocol::topology& known);
  ~cluster_look();
  cluster_look(const cluster_look&) = delete;
  cluster_look& operator=(const cluster_look&) = delete;

  /// The slot map from the first node that answers.
  maybe<protocol::topology> look();

 private:
  protocol::connection_options seed_;
  std::vector<protocol::endpoint> candidates_;
  boost::asio::io_context io_{1};
  std::unique_ptr<protocol::connection> open_;
};

}  // namespace ferry::engine
