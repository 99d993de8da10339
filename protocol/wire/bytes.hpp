#pragma once
// An immutable byte string that shares ownership of the memory it points into.
//
// The RESP reader stores every bulk string once, in a chunk it allocated; a `bytes` keeps that
// chunk alive, so a DUMP payload can travel from the reader to a RESTORE write without a copy.
// A small string pins its whole chunk (64 KiB): code that keeps bytes for long (a key remembered
// across batches) should hold `copy_of(b.view())` instead.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::protocol {

/// A read-only view of bytes together with a share of the buffer that holds them.
class bytes {
 public:
  /// An empty byte string.
  bytes() = default;

  /// Views `size` bytes at `data`, which live inside memory kept alive by `owner`.
  bytes(std::shared_ptr<const void> owner, const char* data, std::size_t size) noexcept
      : owner_(std::move(owner)), data_(data), size_(size) {}

  /// A byte string holding its own copy of `text`.
  static bytes copy_of(std::string_view text);

  /// First byte (not NUL-terminated).
  const char* data() const noexcept { return data_; }
  /// Number of bytes.
  std::size_t size() const noexcept { return size_; }
  /// True when there are no bytes.
  bool empty() const noexcept { return size_ == 0; }
  /// The bytes as a view; valid while this object (or a copy) lives.
  std::string_view view() const noexcept { return {data_, size_}; }
  /// A copy as std::string, for the cold paths that need one.
  std::string str() const { return std::string(view()); }
  /// The allocation kept alive (null for an empty string); lets tests and memory accounting tell
  /// whether two byte strings share a buffer.
  const std::shared_ptr<const void>& owner() const noexcept { return owner_; }

  /// Byte-wise equality with any text.
  friend bool operator==(const bytes& a, std::string_view b) noexcept { return a.view() == b; }
  /// Byte-wise equality.
  friend bool operator==(const bytes& a, const bytes& b) noexcept { return a.view() == b.view(); }

 private:
  std::shared_ptr<const void> owner_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

inline bytes bytes::copy_of(std::string_view text) {
  if (text.empty()) return {};
  auto owner = std::make_shared<std::string>(text);
  const char* p = owner->data();
  return {std::move(owner), p, text.size()};
}

}  // namespace ferry::protocol
