#pragma once
// A buffered, forward-only reader over a byte_source that knows its absolute byte offset, keeps
// the CRC64 of everything it consumed, can copy what it consumes into a buffer up to a limit
// (how the file reader builds DUMP payloads without decoding), and can replay bytes it already
// consumed (how a value that outgrew the limit is decoded from its first byte).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/rdb/error.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::protocol::rdb::detail {

/// Thrown by `input` when a capture would pass its limit. Not an error: the bytes consumed so
/// far are exactly the bytes captured, so the caller can replay them.
struct capture_overflow {};

/// See the file comment. Not thread-safe.
class input {
 public:
  /// Reads `source`; offsets start at `base_offset`.
  explicit input(byte_source& source, std::uint64_t base_offset = 0,
                 std::size_t buffer_size = 64 * 1024);

  /// Absolute offset of the next byte to be consumed.
  std::uint64_t offset() const noexcept {
    if (replay_pos_ < replay_.size()) return replay_offset_ + replay_pos_;
    return buffer_offset_ + pos_;
  }

  /// Consumes one byte; throws `errc::truncated` at the end.
  std::uint8_t byte() {
    if (replay_pos_ >= replay_.size() && pos_ < end_ && capture_ == nullptr) {
      return static_cast<std::uint8_t>(buffer_[pos_++]);
    }
    char c;
    read(&c, 1);
    return static_cast<std::uint8_t>(c);
  }
  /// Consumes exactly `size` bytes into `out`; throws `errc::truncated` at the end.
  void read(void* out, std::size_t size);
  /// Consumes `size` bytes without keeping them (they are still captured and checksummed).
  void skip(std::uint64_t size);
  /// True when no byte is left.
  bool at_end();

  /// CRC64 of every byte consumed from the source so far (replayed bytes count once).
  std::uint64_t checksum();

  /// Appends every byte consumed from now on to `*buffer`; throws `capture_overflow` (after
  /// consuming and appending exactly up to the limit) when `buffer->size()` would pass `limit`.
  /// `nullptr` stops capturing.
  void capture_into(std::string* buffer, std::size_t limit = SIZE_MAX) noexcept {
    capture_ = buffer;
    capture_limit_ = limit;
  }

  /// Makes the next reads return `bytes` (which were consumed before, starting at `offset`)
  /// before going on with the source.
  void replay(std::string bytes, std::uint64_t offset);

  /// Bytes currently held in memory (buffer and replay), for memory accounting and tests.
  std::size_t held_bytes() const noexcept { return buffer_.size() + replay_.capacity(); }

 private:
  bool fill();
  void fold_checksum() noexcept;
  void take(const char* from, std::size_t size, char* out);

  byte_source& source_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::size_t crc_pos_ = 0;
  std::uint64_t buffer_offset_ = 0;
  std::uint64_t crc_ = 0;
  std::string replay_;
  std::size_t replay_pos_ = 0;
  std::uint64_t replay_offset_ = 0;
  std::string* capture_ = nullptr;
  std::size_t capture_limit_ = SIZE_MAX;
};

}  // namespace ferry::protocol::rdb::detail
