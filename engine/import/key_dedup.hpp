#pragma once
// The keys an export has written, so that a key SCAN returns twice is written once: SCAN may
// return a key more than once (while the source's table is resized), and redis-server refuses to
// load an RDB file that holds a key twice ("Duplicated key found in RDB file").
//
// A table of 16-byte entries (a 64-bit hash of the name, where the name is kept) held at most
// 70 % full: about 16-32 bytes per key in memory. The names themselves go to a `name_store`
// (a temporary file for an export), so a hash match is confirmed against the name itself and
// two keys whose hashes collide are both kept: the answer is exact.
//
// Thread: one at a time (the export's file lock).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/result.hpp"

namespace ferry::engine {

/// Where key names are kept for key_dedup.
class name_store {
 public:
  virtual ~name_store() = default;
  /// Keeps `name`; returns where, for `equals`.
  virtual std::uint64_t append(std::string_view name) = 0;
  /// True when the name kept at `at` is `name`.
  virtual bool equals(std::uint64_t at, std::string_view name) = 0;
};

/// Names in memory (tests, small exports).
class memory_names final : public name_store {
 public:
  /// See name_store.
  std::uint64_t append(std::string_view name) override;
  /// See name_store.
  bool equals(std::uint64_t at, std::string_view name) override;

 private:
  std::string names_;
};

/// Names in a file that exists only while the store does (created in `dir`, unlinked at once).
class file_names final : public name_store {
 public:
  /// The error names the directory.
  static maybe<std::unique_ptr<file_names>> create(const std::string& dir);
  ~file_names() override;
  /// See name_store; throws std::runtime_error when the file cannot be written or read.
  std::uint64_t append(std::string_view name) override;
  /// See name_store.
  bool equals(std::uint64_t at, std::string_view name) override;

 private:
  file_names(int fd, std::string dir) : fd_(fd), dir_(std::move(dir)) {}
  void flush();

  int fd_;
  std::string dir_;
  std::string buffer_;         // names not yet written
  std::uint64_t written_ = 0;  // bytes of the file before the buffer
};

/// See the file comment.
class key_dedup {
 public:
  /// Sized for about `expected` keys (it grows past them); names go to `names`.
  key_dedup(std::size_t expected, std::unique_ptr<name_store> names);

  /// True when `key` was added before; otherwise adds it and returns false.
  bool seen_before(std::string_view key);

  /// Keys added.
  std::size_t size() const noexcept { return size_; }
  /// Bytes of the table.
  std::size_t memory() const noexcept { return slots_.size() * sizeof(slot); }

 private:
  struct slot {
    std::uint64_t hash = 0;
    std::uint64_t at = 0;  // where the name is, plus one; 0 marks an empty slot
  };
  void grow();

  std::unique_ptr<name_store> names_;
  std::vector<slot> slots_;
  std::size_t size_ = 0;
};

}  // namespace ferry::engine
