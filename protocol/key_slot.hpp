#pragma once
// Redis Cluster hash slots: CRC16 (XMODEM) of the key or of its {hash tag}, modulo 16384.

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::protocol {

/// Number of hash slots in a Redis Cluster.
inline constexpr std::uint16_t slot_count = 16384;

/// CRC16-CCITT (XMODEM), as Redis Cluster uses it.
std::uint16_t crc16(std::string_view data) noexcept;

/// The hash slot of `key`. When the key holds a '{' followed later by a '}' with at least one
/// byte between them, only the bytes between the first '{' and the first '}' after it are hashed
/// (the hash tag); otherwise the whole key is. An empty first tag does not make a later one count:
/// "foo{}{bar}" hashes whole, as in Redis.
std::uint16_t key_slot(std::string_view key) noexcept;

/// The smallest decimal number whose CRC16 falls in `slot`: as a hash tag ("{n}...") it puts a
/// key in that slot (e.g. a scratch key beside a user's key). Every slot has one below 110,000.
std::string hash_tag_for(std::uint16_t slot);

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

}  // namespace ferry::protocol
