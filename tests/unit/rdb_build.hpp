#pragma once
// Builds RDB bytes by hand for encodings no server here writes any more (zipmaps, ziplist lists,
// text-score zsets, plain lists, Redis 7.4 RC hashes, Valkey 9 hashes, module values) and for
// damaged inputs.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/rdb/crc64.hpp"

namespace ferry::protocol::rdb::testing {

inline std::string len(std::uint64_t n) {
  std::string out;
  if (n < 64) {
    out.push_back(static_cast<char>(n));
  } else if (n < 16384) {
    out.push_back(static_cast<char>(0x40 | (n >> 8)));
    out.push_back(static_cast<char>(n & 0xff));
  } else if (n <= 0xffffffffULL) {
    out.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  } else {
    out.push_back(static_cast<char>(0x81));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  return out;
}

/// One byte (a type id or opcode; "\x00" + ... would be an empty C string).
inline std::string byte(int b) { return std::string(1, static_cast<char>(b)); }

inline std::string str(std::string_view s) { return len(s.size()) + std::string(s); }

inline std::string le(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

inline std::string be(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

/// A ziplist of raw entries (each already encoded: encoding byte(s) + data); prevlens computed.
inline std::string ziplist(const std::vector<std::string>& entries) {
  std::string body;
  std::size_t prev = 0;
  for (const std::string& e : entries) {
    std::string entry =
        prev < 254 ? std::string(1, static_cast<char>(prev)) : std::string("\xfe") + le(prev, 4);
    entry += e;
    prev = entry.size();
    body += entry;
  }
  const std::size_t total = 10 + body.size() + 1;
  return le(total, 4) + le(10, 4) + le(entries.size(), 2) + body + "\xff";
}

/// A ziplist string entry.
inline std::string zl_str(std::string_view s) {
  return std::string(1, static_cast<char>(s.size())) + std::string(s);  // 6-bit length
}

/// A listpack of raw entries (encoding + data); back-lengths computed.
inline std::string listpack(const std::vector<std::string>& entries) {
  std::string body;
  for (const std::string& e : entries) {
    body += e;
    const std::size_t l = e.size();
    if (l <= 127) {
      body.push_back(static_cast<char>(l));
    } else {
      body.push_back(static_cast<char>(l >> 7));
      body.push_back(static_cast<char>((l & 127) | 128));
    }
  }
  const std::size_t total = 6 + body.size() + 1;
  return le(total, 4) + le(entries.size(), 2) + body + "\xff";
}

/// A listpack string entry (6-bit length).
inline std::string lp_str(std::string_view s) {
  return std::string(1, static_cast<char>(0x80 | s.size())) + std::string(s);
}

/// A listpack integer entry (7-bit or 64-bit).
inline std::string lp_int(std::int64_t v) {
  if (v >= 0 && v < 128) return std::string(1, static_cast<char>(v));
  return std::string("\xf4") + le(static_cast<std::uint64_t>(v), 8);
}

/// A whole RDB file: header, `body` (records), EOF and CRC64.
inline std::string rdb_file(std::string_view body, int version = 11) {
  std::string out = version >= 80 ? std::string("VALKEY0") + std::to_string(version)
                                  : std::string("REDIS00") + std::string(version < 10 ? "0" : "") +
                                        std::to_string(version);
  out += body;
  out.push_back('\xff');
  if (version >= 5) out += le(crc64(0, out), 8);
  return out;
}

}  // namespace ferry::protocol::rdb::testing
