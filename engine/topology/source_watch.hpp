#pragma once
// Looks at a source cluster while a copy runs: its slot map (CLUSTER SHARDS through any master
// that answers) and the slots each master marks as migrating or importing (CLUSTER NODES on every
// master, since only a node itself shows those marks). What slot_watch decides from.
//
// Thread: the job's calling thread (it blocks briefly on its own io_context, where its
// connections to the source's nodes stay open between looks).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/cluster/sides.hpp"
#include "engine/topology/slot_watch.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// One look at the source.
struct source_view {
  /// Who owns which slot, with replicas.
  protocol::topology map;
  /// Slots some master marks as migrating or importing.
  slot_set in_flux;
  /// Some master refused CLUSTER NODES (an ACL): its moving slots are seen only once moved.
  bool blind = false;
};

/// See the file comment.
class source_watch {
 public:
  /// Watches the cluster of `seed` (connection settings of the source seed), starting from `map`.
  source_watch(protocol::connection_options seed, protocol::topology map);
  ~source_watch();
  source_watch(const source_watch&) = delete;
  source_watch& operator=(const source_watch&) = delete;

  /// Looks once. Fails when the map or any master's marks could not be read: a partial look
  /// could hide a moving slot.
  maybe<source_view> look();

 private:
  /// An open connection to `where`, kept from an earlier look or made now.
  boost::asio::awaitable<maybe<protocol::connection*>> node(const protocol::endpoint& where);
  /// The slot map, from the first node that answers (the seed, then the masters last seen).
  boost::asio::awaitable<maybe<protocol::topology>> read_map();
  /// The slots `where` marks as migrating or importing; nothing when it refuses to say.
  boost::asio::awaitable<maybe<std::optional<std::vector<std::uint16_t>>>> read_flux(
      const protocol::endpoint& where);
  boost::asio::awaitable<maybe<source_view>> look_once();

  protocol::connection_options seed_;
  protocol::topology last_;
  boost::asio::io_context io_{1};
  std::map<std::string, std::unique_ptr<protocol::connection>> open_;  // by "host:port"
};

}  // namespace ferry::engine
