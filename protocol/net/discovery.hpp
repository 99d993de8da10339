#pragma once
// Asks a seed node what it is: its Redis version and, when it is a cluster, the topology.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include "protocol/net/connection.hpp"
#include "protocol/wire/failure.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::protocol {

/// What a seed node told us about itself and its cluster.
struct server_facts {
  /// The slot map: a cluster's, or one node owning all slots.
  topology map;
  /// Major version from INFO server (redis_version); 0 when the server hides it.
  int major_version = 0;
  /// Minor version.
  int minor_version = 0;
  /// The server's run_id: tells two URLs that name the same server apart from two servers.
  std::string run_id;
};

/// Runs CLUSTER SHARDS (or CLUSTER SLOTS on servers older than 7) on an open connection. A server
/// with cluster support disabled, or a proxy that refuses CLUSTER (Azure Managed Redis with the
/// Enterprise clustering policy), is one node with every slot. A server that says it is a cluster
/// but refuses to describe it is an error: copying only one of its nodes would lose keys.
boost::asio::awaitable<boost::system::result<server_facts, failure>> discover(connection& seed);

}  // namespace ferry::protocol
