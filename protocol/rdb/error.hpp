#pragma once
// Errors of the RDB library: what went wrong, at which byte offset, and a sentence for people.
//
// Public functions return `result<T>`; the parsers inside throw `detail::parse_error` (a deep,
// recursive walk reads better that way) and the public boundary turns it into a `result`.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ferry::protocol::rdb {

/// What kind of problem an RDB file or DUMP payload has.
enum class errc {
  truncated = 1,        ///< the input ended inside a structure (a cut file or payload)
  bad_magic,            ///< the file does not start with "REDIS" or "VALKEY"
  unsupported_version,  ///< an RDB version this library does not read
  bad_checksum,         ///< the CRC64 of the file or payload does not match its content
  unknown_type,         ///< a value type id this library does not know (or not in this version)
  unknown_opcode,       ///< an opcode (or module opcode) this library does not know
  bad_length,           ///< a length prefix that is invalid or larger than what contains it
  bad_encoding,         ///< a ziplist/listpack/intset/zipmap/LZF/stream structure is corrupt
  too_large,            ///< an item is over a configured limit of this library
  not_decodable,        ///< the value cannot be decoded (a module value, a pre-release format)
  version_refused,      ///< a payload is newer than the target version and cannot be downgraded
  io_failed,            ///< the byte source or sink reported an error
};

/// The enumerator's name ("truncated", "bad_checksum", ...): a stable word for reports.
std::string_view errc_name(errc e) noexcept;

/// An RDB error: its kind, the byte offset where it was found, and a message naming what
/// failed and what to do next.
struct error {
  /// The kind of problem.
  errc code = errc::bad_encoding;
  /// Byte offset in the file (for the file reader) or in the payload (for payload functions).
  std::uint64_t offset = 0;
  /// For people: what failed, where, and what to do next.
  std::string message;
};

/// Either a value or an `error` (a small `expected`).
template <class T>
class result {
 public:
  /// A successful result.
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  /// A failed result.
  result(rdb::error e) : state_(std::in_place_index<1>, std::move(e)) {}  // NOLINT(implicit)

  /// True when a value is held.
  bool ok() const noexcept { return state_.index() == 0; }
  /// Same as `ok()`.
  explicit operator bool() const noexcept { return ok(); }
  /// The value; only when `ok()`.
  T& value() & { return std::get<0>(state_); }
  /// The value; only when `ok()`.
  const T& value() const& { return std::get<0>(state_); }
  /// The value, moved out; only when `ok()`.
  T&& value() && { return std::get<0>(std::move(state_)); }
  /// The value; only when `ok()`.
  T& operator*() & { return value(); }
  /// The value; only when `ok()`.
  const T& operator*() const& { return value(); }
  /// Member access to the value; only when `ok()`.
  T* operator->() { return &value(); }
  /// Member access to the value; only when `ok()`.
  const T* operator->() const { return &value(); }
  /// The error; only when `!ok()`.
  const rdb::error& error() const& { return std::get<1>(state_); }

 private:
  std::variant<T, rdb::error> state_;
};

/// Success or an `error`.
template <>
class result<void> {
 public:
  /// Success.
  result() = default;
  /// Failure.
  result(rdb::error e) : error_(std::move(e)), ok_(false) {}  // NOLINT(implicit)
  /// True on success.
  bool ok() const noexcept { return ok_; }
  /// Same as `ok()`.
  explicit operator bool() const noexcept { return ok_; }
  /// The error; only when `!ok()`.
  const rdb::error& error() const& { return error_; }

 private:
  rdb::error error_;
  bool ok_ = true;
};

namespace detail {

/// Thrown inside the parsers; caught at the public boundary and returned as `error`.
class parse_error : public std::runtime_error {
 public:
  /// An error of kind `code` found at `offset`.
  parse_error(errc code, std::uint64_t offset, std::string message)
      : std::runtime_error(message), error_{code, offset, std::move(message)} {}
  /// The error as a value.
  const rdb::error& get() const noexcept { return error_; }

 private:
  rdb::error error_;
};

/// Throws `parse_error`; `[[noreturn]]` so callers need no dummy return.
[[noreturn]] void fail(errc code, std::uint64_t offset, std::string message);

}  // namespace detail
}  // namespace ferry::protocol::rdb
