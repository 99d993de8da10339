#pragma once
// One migration split over several processes (`--shard-index I --shard-count N`, a Kubernetes
// Indexed Job): part I of N is a set of hash slots, the N parts are disjoint and together cover
// every slot the job copies, and every process computes the same parts from the same slot map.
// Pure: no I/O, so tests step it with any map.
//
// How the slots are cut, from the source's masters (a standalone source is one master owning
// every slot), each restricted to the slots the job copies (--slots):
// - at least N masters: whole masters per part, so each process scans only its own masters
//   (a SCAN cannot skip the keys of slots it does not copy: they are read and dropped). The
//   masters, largest first, each go to the part with the fewest slots so far (ties: the lower
//   part; masters of equal size in slot order), which balances parts by slots — keys hash
//   uniformly over slots, whatever their names. The parts are then numbered in the order of
//   their first master (an even split gives part i master i).
// - fewer masters than parts: each master gets at least one part and the rest go, one by one,
//   to the master with the most slots per part so far; each master's slots are then cut into
//   that many contiguous pieces of equal size. Every process still scans one master; a master
//   cut in k pieces is scanned k times (by k processes), each keeping its own slots.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire/slots.hpp"

namespace ferry::engine {

using protocol::slot_set;

/// Which part of a split a job is (`--shard-index`, `--shard-count`).
struct slot_part {
  /// This part, 0 .. count-1.
  std::uint32_t index = 0;
  /// How many parts.
  std::uint32_t count = 1;

  /// "1/3": part 1 of 3, as the state file records it.
  std::string text() const;
  /// Equality.
  friend bool operator==(const slot_part&, const slot_part&) = default;
};

/// What a split gives one part.
struct split_share {
  /// Its slots.
  slot_set slots;
  /// The masters (indices into the input) whose slots it takes, whole or in part.
  std::vector<std::size_t> masters;
  /// True when it takes every slot of each of those masters.
  bool whole_masters = true;
};

/// Splits `masters` (each master's slots, in the map's order, already restricted to what the
/// job copies; empty sets are skipped) into `count` parts (count >= 1). Returns every part, in
/// part order; a part may be empty when there are fewer slots than parts.
std::vector<split_share> split_slots(const std::vector<slot_set>& masters, std::uint32_t count);

}  // namespace ferry::engine
