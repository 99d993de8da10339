#pragma once
// Where RDB bytes come from and go to. The reader pulls from a `byte_source` (a file, stdin, a
// gzip stream: the caller adapts it); the writer pushes into a `byte_sink`. Neither needs to
// seek, so a pipe works.

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace ferry::protocol::rdb {

/// A pull source of bytes.
class byte_source {
 public:
  virtual ~byte_source() = default;
  /// Copies up to `size` bytes into `out` and returns how many; 0 means the end of the input.
  /// May return fewer than asked before the end. Throws (any std::exception) on an I/O error;
  /// the reader reports it as `errc::io_failed` with the exception's message.
  virtual std::size_t read(char* out, std::size_t size) = 0;
};

/// A source over bytes in memory (not owned; they must outlive the source).
class memory_source final : public byte_source {
 public:
  /// Reads `bytes` from the start.
  explicit memory_source(std::string_view bytes) noexcept : bytes_(bytes) {}
  /// Refused: the source would outlive a temporary string.
  explicit memory_source(std::string&&) = delete;
  /// Copies the next bytes.
  std::size_t read(char* out, std::size_t size) override {
    const std::size_t n = size < bytes_.size() - pos_ ? size : bytes_.size() - pos_;
    if (n > 0) std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

/// A push sink of bytes.
class byte_sink {
 public:
  virtual ~byte_sink() = default;
  /// Writes all `size` bytes at `data`; throws on an I/O error (the writer reports it as
  /// `errc::io_failed`).
  virtual void write(const char* data, std::size_t size) = 0;
};

/// A sink appending to a std::string (tests, small files).
class string_sink final : public byte_sink {
 public:
  /// Appends to `out`, which must outlive the sink.
  explicit string_sink(std::string& out) noexcept : out_(out) {}
  /// Appends the bytes.
  void write(const char* data, std::size_t size) override { out_.append(data, size); }

 private:
  std::string& out_;
};

}  // namespace ferry::protocol::rdb
