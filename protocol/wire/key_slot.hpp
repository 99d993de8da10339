#pragma once
// Redis Cluster hash slots: CRC16 (XMODEM) of the key or of its {hash tag}, modulo 16384.

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

}  // namespace ferry::protocol
