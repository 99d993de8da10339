#pragma once
// Hash slot ranges and sets: one value type for "which slots" (a job's --slots, a shard's part of
// the keyspace, the slots a resharding moved), with the text forms people and state files use.
// Pure.

#include <bitset>
#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire/key_slot.hpp"

namespace ferry::protocol {

/// An inclusive range of hash slots.
struct slot_range {
  /// First slot.
  std::uint16_t start = 0;
  /// Last slot, inclusive.
  std::uint16_t end = slot_count - 1;

  /// True when `slot` lies in the range.
  bool contains(std::uint16_t slot) const noexcept { return slot >= start && slot <= end; }
  /// True when the two ranges share a slot.
  bool overlaps(slot_range other) const noexcept {
    return start <= other.end && other.start <= end;
  }
  /// Number of slots.
  std::uint32_t size() const noexcept { return std::uint32_t{end} - start + 1; }
  /// Equality.
  friend bool operator==(slot_range, slot_range) = default;
};

/// Parses "a-b" or a single slot "a" (0 <= a <= b <= 16383), decimal digits only. The error text
/// quotes the input and says what is wrong with it.
boost::system::result<slot_range, std::string> parse_slot_range(std::string_view text);

/// A set of hash slots.
using slot_set = std::bitset<slot_count>;

/// The slots of `ranges`.
slot_set slots_of(const std::vector<slot_range>& ranges);
/// `slots` as sorted inclusive ranges.
std::vector<slot_range> ranges_of(const slot_set& slots);
/// `slots` as text for people and state files: "0-99,200,300-310" ("" when empty).
std::string slot_text(const slot_set& slots);
/// Parses slot_text()'s format; the error quotes the bad part.
boost::system::result<slot_set, std::string> parse_slot_text(std::string_view text);

}  // namespace ferry::protocol
