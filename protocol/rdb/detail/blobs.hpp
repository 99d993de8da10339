#pragma once
// Readers for the compact encodings Redis stores as one RDB string: listpack, ziplist, intset
// and zipmap. Each reads forward from a `string_stream`, so a blob is never held whole: an
// element is an integer or a string whose bytes the caller reads in pieces. Every reader checks
// the structure (declared sizes and counts, terminators, back-lengths) as it goes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/rdb/detail/primitives.hpp"

namespace ferry::protocol::rdb::detail {

/// A forward sequence of elements (see the file comment).
class element_reader {
 public:
  virtual ~element_reader() = default;
  element_reader(const element_reader&) = delete;
  element_reader& operator=(const element_reader&) = delete;

  /// Moves to the next element, skipping what is unread of the current one. False at the end
  /// (the terminator was checked and the string is used up).
  bool next();
  /// True when the current element is an integer.
  bool is_int() const noexcept { return is_int_; }
  /// The integer value of the current element (when `is_int()`).
  std::int64_t number() const noexcept { return number_; }
  /// Length of the current element's bytes (for an integer: of its decimal text).
  std::uint64_t length() const noexcept { return length_; }
  /// Unread bytes of the current element.
  std::uint64_t left() const noexcept { return left_; }
  /// Copies up to `size` bytes of the current element; 0 when it is read.
  std::size_t read_some(char* out, std::size_t size);
  /// The current element whole (the decimal text of an integer); longer than `limit` is
  /// `errc::too_large`.
  void read_all(std::string& out, std::size_t limit);
  /// Offset in the input (for messages).
  std::uint64_t offset() const noexcept { return s_.offset(); }
  /// How many elements the header announces, or -1 when it does not say.
  std::int64_t declared_count() const noexcept { return declared_count_; }

 protected:
  explicit element_reader(string_stream& s) : s_(s) {}
  /// Reads the next element's header and sets it with `set_int`/`set_string`; false at the end.
  virtual bool advance() = 0;
  /// Called after an element's bytes were read (listpack back-length, zipmap free bytes).
  virtual void after_element() {}
  void set_int(std::int64_t v);
  void set_string(std::uint64_t length);
  [[noreturn]] void corrupt(const std::string& what) const;

  string_stream& s_;
  std::int64_t declared_count_ = -1;
  std::uint64_t seen_ = 0;

 private:
  bool is_int_ = false;
  bool active_ = false;
  std::int64_t number_ = 0;
  std::uint64_t length_ = 0;
  std::uint64_t left_ = 0;
  std::string text_;
};

/// A listpack (Redis 5+ streams, 7.0+ hashes, zsets, lists, 7.2+ sets).
class listpack_reader final : public element_reader {
 public:
  /// Reads the 6-byte header.
  explicit listpack_reader(string_stream& s);

 private:
  bool advance() override;
  void after_element() override;
  std::uint64_t total_ = 0;
  std::uint64_t consumed_ = 6;
  std::uint64_t entry_size_ = 0;
};

/// A ziplist (lists, zsets and hashes before 7.0; quicklist nodes 3.2-6.2).
class ziplist_reader final : public element_reader {
 public:
  /// Reads the 10-byte header.
  explicit ziplist_reader(string_stream& s);

 private:
  bool advance() override;
  std::uint64_t total_ = 0;
  std::uint64_t consumed_ = 10;
  std::uint64_t prev_size_ = 0;
};

/// An intset (sets of integers).
class intset_reader final : public element_reader {
 public:
  /// Reads the 8-byte header.
  explicit intset_reader(string_stream& s);

 private:
  bool advance() override;
  unsigned width_ = 0;
  std::uint64_t count_ = 0;
  bool have_prev_ = false;
  std::int64_t prev_ = 0;
};

/// A zipmap (hashes of Redis 2.2-era files): elements alternate field, value.
class zipmap_reader final : public element_reader {
 public:
  /// Reads the 1-byte header.
  explicit zipmap_reader(string_stream& s);

 private:
  bool advance() override;
  void after_element() override;
  bool expect_value_ = false;
  unsigned free_ = 0;
};

}  // namespace ferry::protocol::rdb::detail
