#include "protocol/wire/key_slot.hpp"

#include <array>
#include <string>
#include <vector>

namespace ferry::protocol {
namespace {

// CRC16-CCITT as Redis Cluster defines it (XMODEM): polynomial 0x1021, initial value 0, no
// reflection, no final XOR. The table is built at compile time so it cannot drift from the
// polynomial and costs nothing at start-up.
constexpr std::array<std::uint16_t, 256> make_crc16_table() noexcept {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    auto crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr auto crc16_table = make_crc16_table();

constexpr std::uint16_t crc16_of(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (const char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_table[((crc >> 8) ^ byte) & 0xFF]);
  }
  return crc;
}

// The check value of CRC-16/XMODEM, and the example in the Redis Cluster specification.
static_assert(crc16_of("123456789") == 0x31C3);

// The part of the key that is hashed: the text between the first '{' and the first '}' after
// it, when that text is not empty; otherwise the whole key. Redis uses exactly this rule
// (cluster.c keyHashSlot), including "foo{}{bar}" hashing whole and "foo{{bar}}" hashing "{bar".
constexpr std::string_view hash_part(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

static_assert(hash_part("{user1000}.following") == "user1000");
static_assert(hash_part("foo{}{bar}") == "foo{}{bar}");
static_assert(hash_part("foo{{bar}}zap") == "{bar");

}  // namespace

std::uint16_t crc16(std::string_view data) noexcept { return crc16_of(data); }

std::uint16_t key_slot(std::string_view key) noexcept {
  // slot_count is a power of two, so the modulo of the specification is a mask.
  static_assert((slot_count & (slot_count - 1)) == 0);
  return static_cast<std::uint16_t>(crc16_of(hash_part(key)) & (slot_count - 1));
}

std::string hash_tag_for(std::uint16_t slot) {
  // The smallest decimal string of each slot, found in one pass on first use (a search per call
  // cost about a millisecond: struct mode names a temporary key for every key). Decimal strings
  // spread evenly over the slots: the last slot is first reached at 109,757
  // (tests/unit/key_slot_test.cpp checks every slot), so the bound is never met.
  static const std::vector<std::string> tags = [] {
    std::vector<std::string> t(slot_count);
    std::size_t found = 0;
    for (unsigned n = 0; n < 200'000 && found < slot_count; ++n) {
      std::string tag = std::to_string(n);
      std::string& at = t[key_slot(tag)];
      if (at.empty()) {
        at = std::move(tag);
        ++found;
      }
    }
    return t;
  }();
  return tags[slot % slot_count];
}

}  // namespace ferry::protocol
