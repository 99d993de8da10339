#pragma once
// Which node owns which hash slot: a cluster's masters and replicas, or one standalone node.
// Pure: built from CLUSTER SHARDS or CLUSTER SLOTS replies; discovery.hpp does the asking.

#include <array>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/wire/endpoint.hpp"
#include "protocol/wire/reply.hpp"
#include "protocol/wire/slots.hpp"

namespace ferry::protocol {

/// One node of the topology.
struct cluster_node {
  /// Cluster node id (40 hex characters); empty for a standalone server.
  std::string id;
  /// How to reach it: the seed's scheme, credentials and db with this node's host and port.
  endpoint where;
  /// Slot ranges it serves (masters only).
  std::vector<slot_range> slots;
  /// Node id of its master (replicas only).
  std::string master_id;
};

/// A slot map. A standalone server (or a proxy that hides its cluster) is one master with every
/// slot.
class topology {
 public:
  /// The topology of a standalone server or proxy reached at `seed`.
  static topology standalone(const endpoint& seed);

  /// True for an OSS cluster.
  bool is_cluster() const noexcept { return cluster_; }
  /// Masters, in a stable order (by first slot).
  const std::vector<cluster_node>& masters() const noexcept { return masters_; }
  /// Replicas of any master.
  const std::vector<cluster_node>& replicas() const noexcept { return replicas_; }
  /// Index into masters() of the owner of `slot`; nothing for an unassigned slot.
  std::optional<std::size_t> master_of(std::uint16_t slot) const noexcept;
  /// Index into masters() of the master at `address` ("host:port"), if any.
  std::optional<std::size_t> find_master(const std::string& address) const;
  /// Slot ranges no master serves, for messages ("slots 0-99 are not served").
  std::vector<slot_range> unassigned() const;

  /// Builds a cluster topology from a CLUSTER SHARDS reply (Redis >= 7). Hosts come from the
  /// "endpoint" field (or "ip" when it is unknown); for a TLS seed the "tls-port" is used.
  static boost::system::result<topology, std::string> from_cluster_shards(const reply& shards,
                                                                          const endpoint& seed);
  /// Builds a cluster topology from a CLUSTER SLOTS reply (older servers).
  static boost::system::result<topology, std::string> from_cluster_slots(const reply& slots,
                                                                         const endpoint& seed);

 private:
  void add_master(cluster_node node);
  void finish();

  bool cluster_ = false;
  std::vector<cluster_node> masters_;
  std::vector<cluster_node> replicas_;
  static constexpr std::uint16_t no_owner = 0xFFFF;
  std::array<std::uint16_t, slot_count> owner_{};
};

}  // namespace ferry::protocol
