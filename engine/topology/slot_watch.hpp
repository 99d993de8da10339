#pragma once
// Which hash slots may have lost keys because the source cluster moved them during a scan.
//
// A SCAN returns every key that stays on its node for the whole scan. A slot that migrates while
// the node it is scanned on is part-way through can lose keys: they leave a node whose scan had
// not reached them for one whose scan had passed their place (or that skips them, since ferry
// reads each slot on one node only). So while a slot's scan runs, the job looks at the source now
// and then, and a slot is marked moved when it is seen MIGRATING or IMPORTING, or owned by a
// master whose group (the master and its replicas) no longer holds the node it is scanned on. A
// failover keeps the old master in the group as a replica, so it moves nothing. Moved slots are
// rescanned on their owner once they stand still. Pure bookkeeping, no I/O.
//
// Thread: one (the job's calling thread).

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire/slots.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

using protocol::parse_slot_text;
using protocol::ranges_of;
using protocol::slot_set;
using protocol::slot_text;
using protocol::slots_of;

/// See the file comment.
class slot_watch {
 public:
  /// From now on `slots` are scanned on the node with cluster id `node_id`.
  void watch(const slot_set& slots, const std::string& node_id);
  /// The scans of `slots` ended (and the source was looked at since): they can no longer lose
  /// keys.
  void release(const slot_set& slots);
  /// One look at the source: its slot map and the slots its masters mark as moving. Marks as
  /// moved every watched slot that is moving, unassigned, or owned by a group without its node.
  void observe(const protocol::topology& map, const slot_set& in_flux);
  /// Marks `slots` as moved (e.g. known from a state file).
  void mark(const slot_set& slots) { moved_ |= slots; }

  /// Slots marked moved and not yet taken.
  const slot_set& moved() const noexcept { return moved_; }
  /// Returns the moved slots and forgets them (a rescan is about to cover them).
  slot_set take_moved() noexcept {
    slot_set taken = moved_;
    moved_.reset();
    return taken;
  }
  /// Slots being watched.
  slot_set watched() const;

 private:
  // Node id each slot is scanned on; empty when not watched.
  std::vector<std::string> scanned_on_ = std::vector<std::string>(protocol::slot_count);
  slot_set moved_;
};

}  // namespace ferry::engine
