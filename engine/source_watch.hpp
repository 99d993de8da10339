#pragma once
// Looks at a source cluster while a copy runs: its slot map (CLUSTER SHARDS through any master
// that answers) and the slots each master marks as migrating or importing (CLUSTER NODES on every
// master, since only a node itself shows those marks). What slot_watch decides from.
//
// Thread: the job's calling thread (it blocks briefly on its own io_context).

#include <string>

#include "engine/sides.hpp"
#include "engine/slot_watch.hpp"
#include "protocol/connection.hpp"
#include "protocol/topology.hpp"

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

  /// Looks once. Fails when the map or any master's marks could not be read: a partial look
  /// could hide a moving slot.
  maybe<source_view> look();

 private:
  protocol::connection_options seed_;
  protocol::topology last_;
};

}  // namespace ferry::engine
