#pragma once
// CRC-64/Jones exactly as Redis computes it (src/crc64.c): polynomial 0xad93d23594c935a9,
// reflected input and output, initial value 0, no final xor. Check value:
// crc64(0, "123456789") == 0xe9c6d914c4b8d9ca. Table-driven, eight bytes per step.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferry::protocol::rdb {

/// Continues `crc` over `size` bytes at `data` (start with 0). Redis stores the result
/// little-endian after an RDB file's EOF opcode and at the end of a DUMP payload.
std::uint64_t crc64(std::uint64_t crc, const void* data, std::size_t size) noexcept;

/// Continues `crc` over `bytes`.
inline std::uint64_t crc64(std::uint64_t crc, std::string_view bytes) noexcept {
  return crc64(crc, bytes.data(), bytes.size());
}

}  // namespace ferry::protocol::rdb
