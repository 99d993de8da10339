#pragma once
// The RDB format's small pieces read from an `input`: lengths, little-endian integers, times,
// doubles, and strings (raw, integer-encoded or LZF-compressed), either whole or as a stream.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "protocol/rdb/detail/input.hpp"
#include "protocol/rdb/lzf.hpp"

namespace ferry::protocol::rdb::detail {

/// A length prefix, or (when `encoded`) the special string encoding it announces.
struct length_field {
  /// The length, or RDB_ENC_* when `encoded`.
  std::uint64_t value = 0;
  /// True for 11xxxxxx: a specially encoded string follows.
  bool encoded = false;
};

/// Reads a length prefix (6, 14, 32 or 64 bits, or an encoding marker).
length_field read_length_field(input& in);
/// Reads a plain length; an encoding marker is an error naming `what`.
std::uint64_t read_length(input& in, const char* what);
/// Reads a length that counts elements of at least `min_element_bytes` each: a count larger than
/// `limit` (what the remaining input could hold, or a sanity bound) is `errc::bad_length`.
std::uint64_t read_count(input& in, const char* what, std::uint64_t limit);

/// Little-endian unsigned integers of 2, 4, 8 bytes.
std::uint16_t read_u16(input& in);
/// Little-endian u32.
std::uint32_t read_u32(input& in);
/// Little-endian u64.
std::uint64_t read_u64(input& in);
/// Big-endian u64 (stream ids inside node keys and PELs).
std::uint64_t read_u64_be(input& in);
/// An 8-byte binary double (zset v2, module doubles).
double read_binary_double(input& in);
/// A text double of zset v1: a length byte (253 nan, 254 +inf, 255 -inf) then ASCII.
double read_text_double(input& in);
/// Skips a text double.
void skip_text_double(input& in);

/// Skips an RDB string of any encoding, reading only its header.
void skip_string(input& in);
/// Reads an RDB string whole; longer than `limit` decoded bytes is `errc::too_large`.
std::string read_string(input& in, std::size_t limit, const char* what);

/// An RDB string opened for reading in pieces: raw bytes pass through, integers are turned into
/// their decimal text, LZF is decompressed with an 8 KiB window.
class string_stream {
 public:
  /// Reads the string's header from `in` (the content follows).
  explicit string_stream(input& in);
  string_stream(const string_stream&) = delete;
  string_stream& operator=(const string_stream&) = delete;

  /// Decoded length of the whole string.
  std::uint64_t size() const noexcept { return size_; }
  /// Decoded bytes not yet read.
  std::uint64_t remaining() const noexcept { return remaining_; }
  /// True for an LZF-compressed string.
  bool compressed() const noexcept { return lzf_ != nullptr; }
  /// Copies up to `size` bytes; returns 0 at the end.
  std::size_t read_some(char* out, std::size_t size);
  /// Copies exactly `size` bytes; too few left is `errc::bad_encoding` (a structure inside the
  /// string claims more bytes than the string has).
  void read_exact(char* out, std::size_t size);
  /// One byte (same rule as `read_exact`).
  std::uint8_t byte() {
    char c;
    read_exact(&c, 1);
    return static_cast<std::uint8_t>(c);
  }
  /// Skips `size` bytes (same rule as `read_exact`).
  void skip(std::uint64_t size);
  /// Skips what is left.
  void skip_rest() { skip(remaining_); }
  /// Offset in the input, for messages (inside an LZF string: of the compressed byte).
  std::uint64_t offset() const noexcept { return in_.offset(); }

 private:
  input& in_;
  std::uint64_t size_ = 0;
  std::uint64_t remaining_ = 0;
  std::string text_;  // the decimal text of an integer-encoded string
  std::unique_ptr<lzf_stream> lzf_;
};

}  // namespace ferry::protocol::rdb::detail
