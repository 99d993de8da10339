#pragma once
// One caller's connections to the nodes of a side, by address: a link per node, made on first
// use from the side's connection settings and kept across rounds, batches and slot map changes.
// The reader, the writer and the routed sides each hold one.
//
// Thread: the worker thread of its owner; not thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine/cluster/link.hpp"
#include "engine/cluster/redirect_round.hpp"

namespace ferry::engine {

/// See the file comment.
class node_links {
 public:
  /// Links made from `base` (TLS, credentials, db, timeouts; host and port replaced per node),
  /// each counting into `stats` when given (which must outlive them).
  node_links(boost::asio::any_io_executor executor, protocol::connection_options base,
             const tuning& tune, job_control& control, link_stats* stats = nullptr);

  /// The link to `node`, made now if there is none yet.
  link& to(const node_address& node);
  /// The link to the node of `where` (a master of a slot map).
  link& to(const protocol::endpoint& where) { return to(node_address{where.host, where.port}); }
  /// The link to the node of a round's group: its master in `map`, or the node a redirect
  /// named (`own` for an own_node group).
  link& to(const round_group& group, const protocol::topology* map, link* own);

  /// Retries counted by every link.
  std::uint64_t retries() const;
  /// The settings links are made from.
  const protocol::connection_options& base() const noexcept { return base_; }

 private:
  boost::asio::any_io_executor executor_;
  protocol::connection_options base_;
  const tuning& tune_;
  job_control& control_;
  link_stats* stats_;
  std::map<node_address, std::unique_ptr<link>> links_;
};

}  // namespace ferry::engine
