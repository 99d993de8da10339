#include "protocol/rdb/crc64.hpp"

#include <array>
#include <bit>
#include <cstring>

namespace ferry::protocol::rdb {
namespace {

constexpr std::uint64_t reflect64(std::uint64_t v) {
  std::uint64_t r = 0;
  for (int i = 0; i < 64; ++i) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

// Jones polynomial, bit-reversed for the reflected (LSB-first) algorithm.
constexpr std::uint64_t reflected_poly = reflect64(0xad93d23594c935a9ULL);

using tables = std::array<std::array<std::uint64_t, 256>, 8>;

// tables[0] is the classic byte table; tables[k][i] is the CRC of byte i followed by k zero
// bytes, which lets the loop fold eight input bytes with eight independent look-ups.
constexpr tables make_tables() {
  tables t{};
  for (std::uint64_t i = 0; i < 256; ++i) {
    std::uint64_t crc = i;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 1) ? (crc >> 1) ^ reflected_poly : crc >> 1;
    }
    t[0][i] = crc;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) {
      const std::uint64_t prev = t[k - 1][i];
      t[k][i] = (prev >> 8) ^ t[0][prev & 0xff];
    }
  }
  return t;
}

constexpr tables table = make_tables();

}  // namespace

std::uint64_t crc64(std::uint64_t crc, const void* data, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  while (size >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    if constexpr (std::endian::native == std::endian::big) {
      word = __builtin_bswap64(word);
    }
    crc ^= word;
    crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff] ^ table[5][(crc >> 16) & 0xff] ^
          table[4][(crc >> 24) & 0xff] ^ table[3][(crc >> 32) & 0xff] ^
          table[2][(crc >> 40) & 0xff] ^ table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
    p += 8;
    size -= 8;
  }
  while (size-- > 0) {
    crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  }
  return crc;
}

}  // namespace ferry::protocol::rdb
