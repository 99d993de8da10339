#pragma once
// Where RDB bytes come from and go to on this machine: files, stdin, and gzip (zlib) on either
// side, as the byte sources and sinks of protocol/rdb. The RDB library itself does no I/O.
//
// Thread: each object is used by one thread at a time; `consumed()` and `produced()` may be read
// from any thread (progress lines).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/runtime/result.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::engine {

/// A file or stdin, read with read(2). Counts the bytes it read (the file's own bytes, before
/// any decompression), for progress.
class fd_source final : public protocol::rdb::byte_source {
 public:
  /// Reads `fd` (closed at the end unless it is stdin); `name` is the path for messages.
  fd_source(int fd, std::string name);
  ~fd_source() override;
  fd_source(const fd_source&) = delete;
  fd_source& operator=(const fd_source&) = delete;

  /// See byte_source; throws std::runtime_error naming the file and errno's text.
  std::size_t read(char* out, std::size_t size) override;
  /// The first `n` bytes without consuming them (fewer at the end of the input). Only before
  /// the first read().
  std::string peek(std::size_t n);
  /// Bytes read from the file so far (any thread).
  std::uint64_t consumed() const noexcept { return consumed_.load(std::memory_order_relaxed); }

 private:
  std::size_t read_fd(char* out, std::size_t size);

  int fd_;
  std::string name_;
  std::string peeked_;
  std::size_t peeked_at_ = 0;
  std::atomic<std::uint64_t> consumed_{0};
};

/// Decompresses a gzip (or zlib) stream read from another source; concatenated gzip members are
/// read one after the other, as gunzip does.
class gzip_source final : public protocol::rdb::byte_source {
 public:
  /// Reads compressed bytes from `compressed` (which must outlive this); `name` for messages.
  gzip_source(protocol::rdb::byte_source& compressed, std::string name);
  ~gzip_source() override;
  gzip_source(const gzip_source&) = delete;
  gzip_source& operator=(const gzip_source&) = delete;

  /// See byte_source; throws std::runtime_error when the gzip data is damaged or cut short.
  std::size_t read(char* out, std::size_t size) override;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// An opened RDB input.
struct rdb_input {
  /// What the RDB reader pulls from (decompressed when the file is gzip).
  protocol::rdb::byte_source* source = nullptr;
  /// The file's own bytes read so far (compressed ones for gzip), for progress.
  const fd_source* file = nullptr;
  /// The path as given ("-" for stdin).
  std::string name;
  /// True when the input was gzip (recognized by its first bytes, not by its name).
  bool gzip = false;
  /// True for a regular file, which can be read a second time (a check pass before the import).
  bool regular = false;
  /// Size of the file on disk; 0 when unknown (stdin, a pipe).
  std::uint64_t size = 0;
  /// Owners of the above.
  std::unique_ptr<fd_source> file_owner;
  std::unique_ptr<gzip_source> gzip_owner;
};

/// Opens `path` ("-" for stdin) for reading; the error names the file and what to do.
maybe<rdb_input> open_rdb_input(const std::string& path);

/// A file written with write(2) through a buffer; throws std::runtime_error naming the file.
class fd_sink final : public protocol::rdb::byte_sink {
 public:
  /// Writes to `fd` (not closed here); `name` for messages.
  fd_sink(int fd, std::string name, std::size_t buffer_bytes = std::size_t{1} << 20);
  /// See byte_sink.
  void write(const char* data, std::size_t size) override;
  /// Writes out the buffer.
  void flush();
  /// Bytes handed to the file so far, buffered ones included (any thread).
  std::uint64_t produced() const noexcept { return produced_.load(std::memory_order_relaxed); }

 private:
  void write_fd(const char* data, std::size_t size);

  int fd_;
  std::string name_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::atomic<std::uint64_t> produced_{0};
};

/// Compresses into another sink as one gzip member.
class gzip_sink final : public protocol::rdb::byte_sink {
 public:
  /// Writes compressed bytes to `out` (which must outlive this) at zlib `level` (1-9).
  gzip_sink(protocol::rdb::byte_sink& out, int level);
  ~gzip_sink() override;
  gzip_sink(const gzip_sink&) = delete;
  gzip_sink& operator=(const gzip_sink&) = delete;
  /// See byte_sink.
  void write(const char* data, std::size_t size) override;
  /// Ends the gzip member (its trailer: CRC32 and size). Nothing may be written after.
  void finish();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

/// A file that appears under its name only once it is whole: written to a temporary file in the
/// same directory, then fsynced and renamed over the name; removed when not committed.
class atomic_file {
 public:
  /// Creates the temporary file beside `path`; the error names the directory and the reason.
  static maybe<std::unique_ptr<atomic_file>> create(const std::string& path);
  ~atomic_file();
  atomic_file(const atomic_file&) = delete;
  atomic_file& operator=(const atomic_file&) = delete;

  /// The sink writing the temporary file.
  fd_sink& sink() noexcept { return *sink_; }
  /// Flushes, fsyncs, renames to the final name and fsyncs the directory.
  maybe<void> commit();
  /// The temporary file's path (for messages and tests).
  const std::string& temp_path() const noexcept { return temp_; }

 private:
  atomic_file(std::string path, std::string temp, int fd);

  std::string path_;
  std::string temp_;
  int fd_;
  std::unique_ptr<fd_sink> sink_;
  bool committed_ = false;
};

}  // namespace ferry::engine
