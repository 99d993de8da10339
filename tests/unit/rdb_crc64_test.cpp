// CRC64 as Redis computes it: the check values of Redis's own test (src/crc64.c), and the
// table-driven code against a bit-by-bit reference over many lengths and split points.

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "protocol/rdb/crc64.hpp"

namespace ferry::protocol::rdb {
namespace {

// Redis's _crc64 (pycrc bit-by-bit-fast, then reflected), written out independently.
std::uint64_t reference_crc64(std::uint64_t crc, std::string_view data) {
  for (unsigned char c : data) {
    for (unsigned i = 1; i & 0xff; i <<= 1) {
      bool bit = (crc & 0x8000000000000000ULL) != 0;
      if (c & i) bit = !bit;
      crc <<= 1;
      if (bit) crc ^= 0xad93d23594c935a9ULL;
    }
  }
  std::uint64_t r = 0;
  for (int i = 0; i < 64; ++i) {
    r = (r << 1) | (crc & 1);
    crc >>= 1;
  }
  return r;
}

TEST(rdb_crc64, matches_redis_check_values) {
  EXPECT_EQ(crc64(0, "123456789"), 0xe9c6d914c4b8d9caULL);
  const char lorem[] =
      "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
      "incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud "
      "exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure "
      "dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. "
      "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt "
      "mollit anim id est laborum.";
  // Redis hashes sizeof(li), the terminating NUL included.
  EXPECT_EQ(crc64(0, lorem, sizeof lorem), 0xc7794709e69683b3ULL);
  EXPECT_EQ(crc64(0, ""), 0u);
}

TEST(rdb_crc64, equals_the_bitwise_reference_for_every_length_and_split) {
  std::mt19937_64 rng(7);
  std::string data(300, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (std::size_t len = 0; len <= data.size(); ++len) {
    const std::string_view d(data.data(), len);
    const std::uint64_t want = reference_crc64(0, d);
    ASSERT_EQ(crc64(0, d), want) << len;
    const std::size_t split = len / 3;
    ASSERT_EQ(crc64(crc64(0, d.substr(0, split)), d.substr(split)), want) << len;
  }
}

}  // namespace
}  // namespace ferry::protocol::rdb
