#pragma once
// LZF decompression as Redis uses it for RDB strings (src/lzf_d.c): a control byte below 32
// starts a literal run of ctrl+1 bytes; otherwise it is a back reference of (ctrl>>5)+2 bytes
// (7 means "add the next byte"), at distance ((ctrl&31)<<8) + next byte + 1 (at most 8 KiB).
// The streaming form keeps just that window, so a 500 MB compressed string needs 72 KiB.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/rdb/error.hpp"

namespace ferry::protocol::rdb {

namespace detail {
class input;
}

/// Decompresses a whole LZF block that must yield exactly `decompressed_size` bytes.
result<std::string> lzf_decompress(std::string_view compressed, std::size_t decompressed_size);

namespace detail {

/// Decompresses `compressed` bytes read from an `input` into `decompressed` bytes, in pieces.
class lzf_stream {
 public:
  /// Starts at the input's current position. Nothing is read yet.
  lzf_stream(input& in, std::uint64_t compressed, std::uint64_t decompressed);
  /// Copies up to `size` decompressed bytes into `out`; returns 0 only when all were produced.
  /// Throws `parse_error` (bad_encoding, truncated) on corrupt data.
  std::size_t read(char* out, std::size_t size);
  /// Decompressed bytes not yet returned.
  std::uint64_t remaining() const noexcept { return left_to_produce_ + (write_ - read_); }

 private:
  void decode_some();

  input& in_;
  std::uint64_t compressed_left_;
  std::uint64_t left_to_produce_;
  std::uint64_t produced_ = 0;
  std::vector<char> window_;
  std::size_t write_ = 0;
  std::size_t read_ = 0;
};

}  // namespace detail
}  // namespace ferry::protocol::rdb
