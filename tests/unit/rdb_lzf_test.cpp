// LZF decompression: literal runs, back references (short, long, overlapping, at the maximum
// distance), read in pieces through the 8 KiB window, and corrupt blocks refused with a reason.

#include <gtest/gtest.h>

#include <string>

#include "protocol/rdb/detail/input.hpp"
#include "protocol/rdb/lzf.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::protocol::rdb {
namespace {

std::string literal(std::string_view bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 32) {
    const std::string_view part = bytes.substr(i, 32);
    out.push_back(static_cast<char>(part.size() - 1));
    out.append(part);
  }
  return out;
}

// A back reference copying `len` (>= 3) bytes from `distance` (1..8192) back.
std::string backref(std::size_t len, std::size_t distance) {
  std::string out;
  const std::size_t l = len - 2;
  const std::size_t off = distance - 1;
  if (l < 7) {
    out.push_back(static_cast<char>((l << 5) | (off >> 8)));
  } else {
    out.push_back(static_cast<char>((7 << 5) | (off >> 8)));
    out.push_back(static_cast<char>(l - 7));
  }
  out.push_back(static_cast<char>(off & 0xff));
  return out;
}

TEST(rdb_lzf, literals_and_back_references) {
  auto r = lzf_decompress(literal("abc") + backref(3, 3), 6);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "abcabc");
  // Overlapping copy: distance 1 repeats the last byte.
  r = lzf_decompress(literal("x") + backref(264, 1), 265);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, std::string(265, 'x'));
}

TEST(rdb_lzf, far_references_survive_the_window_in_small_reads) {
  std::string plain;
  for (int i = 0; i < 8192; ++i) plain.push_back(static_cast<char>('a' + (i * 7) % 26));
  std::string block = literal(plain);
  std::string expected = plain;
  // Many copies from exactly 8192 bytes back, pushing output far past the 64 KiB buffer.
  for (int i = 0; i < 2000; ++i) {
    block += backref(100, 8192);
    for (int j = 0; j < 100; ++j) expected.push_back(expected[expected.size() - 8192]);
  }
  memory_source source(block);
  detail::input in(source);
  detail::lzf_stream s(in, block.size(), expected.size());
  std::string got;
  char buf[977];
  for (std::size_t n; (n = s.read(buf, sizeof buf)) > 0;) got.append(buf, n);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(s.remaining(), 0u);
  EXPECT_TRUE(in.at_end());
}

TEST(rdb_lzf, corrupt_blocks_are_refused) {
  auto bad = [](std::string block, std::size_t size) {
    auto r = lzf_decompress(block, size);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_NE(bad(backref(3, 1), 3).find("before the start"), std::string::npos);
  EXPECT_NE(bad(literal("abc"), 5).find("end early"), std::string::npos);
  EXPECT_NE(bad(literal("abcdef"), 3).find("literal run"), std::string::npos);
  EXPECT_NE(bad(literal("ab") + backref(10, 2), 5).find("back reference"), std::string::npos);
  EXPECT_NE(bad(literal("abc") + literal("d"), 3).find("left after"), std::string::npos);
  EXPECT_NE(bad("\x05"
                "ab",
                6)
                .find("literal run"),
            std::string::npos);
  EXPECT_NE(bad("", 1 << 20).find("cannot decompress"), std::string::npos);
}

}  // namespace
}  // namespace ferry::protocol::rdb
