#pragma once
// RESP streams for the reader's unit tests: items written by hand and random payloads, and a
// parse() that feeds a stream in random pieces and collects every reply.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire/resp_reader.hpp"

namespace ferry::protocol::resp_streams {

// Appends rather than chains operator+: GCC 12's -Wrestrict misfires on such chains.
inline std::string bulk(std::string_view payload) {
  std::string out("$");
  out.append(std::to_string(payload.size())).append("\r\n").append(payload).append("\r\n");
  return out;
}

// One line item: `type`, `text`, CRLF.
inline std::string line(char type, std::string_view text) {
  std::string out(1, type);
  out.append(text).append("\r\n");
  return out;
}

inline std::string random_payload(std::mt19937_64& rng, std::size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Feeds `stream` in pieces of 1..max_piece bytes (1: byte by byte) and collects every reply.
inline std::vector<reply> parse(std::string_view stream, std::size_t max_piece,
                                std::uint64_t seed = 1, reader_limits limits = {}) {
  resp_reader reader(limits);
  std::mt19937_64 rng(seed);
  std::vector<reply> out;
  while (!stream.empty()) {
    const std::size_t n = max_piece <= 1 ? 1 : std::min(stream.size(), 1 + rng() % max_piece);
    reader.feed(stream.substr(0, n));
    stream.remove_prefix(n);
    for (;;) {
      auto r = reader.next();
      EXPECT_TRUE(r.has_value()) << reader.error_message();
      if (!r.has_value() || !r->has_value()) break;
      out.push_back(std::move(**r));
    }
  }
  EXPECT_EQ(reader.buffered(), 0u);
  return out;
}

}  // namespace ferry::protocol::resp_streams
