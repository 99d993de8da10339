#pragma once
// An owned, binary-safe copy of a RESP2 reply, independent of ferry's protocol/ types.

#include <string>
#include <string_view>
#include <vector>

namespace ferry::testing {

/// The RESP2 reply types hiredis 0.14 reports.
enum class reply_kind {
  /// Bulk string (binary-safe).
  string,
  /// Multi-bulk; see `reply::elements`.
  array,
  /// Integer; see `reply::integer`.
  integer,
  /// Null bulk or null array.
  nil,
  /// Simple string such as "OK".
  status,
  /// Error such as "MOVED 3999 127.0.0.1:7001".
  error,
};

/// An owned copy of one reply.
struct reply {
  /// What kind of reply this is.
  reply_kind kind = reply_kind::nil;
  /// Value of an integer reply.
  long long integer = 0;
  /// Bytes of a string, status or error reply.
  std::string str;
  /// Elements of an array reply.
  std::vector<reply> elements;

  /// True for an error reply.
  bool is_error() const noexcept { return kind == reply_kind::error; }
  /// True for a nil reply.
  bool is_nil() const noexcept { return kind == reply_kind::nil; }
  /// True for the status "OK".
  bool is_ok() const noexcept { return kind == reply_kind::status && str == "OK"; }
  /// Element `i` of an array reply (throws when out of range).
  const reply& operator[](std::size_t i) const { return elements.at(i); }
  /// Structural equality.
  friend bool operator==(const reply&, const reply&) = default;
};

/// A readable, escaped rendering of a reply for assertion messages.
std::string to_string(const reply& value);

/// `bytes` with non-printable bytes as \xNN (and \r, \n, \0 spelled out), cut at `limit`.
std::string printable(std::string_view bytes, std::size_t limit = 120);

/// Throws `std::runtime_error` with `what` and the reply when `value` is an error reply.
const reply& expect_ok_reply(const reply& value, std::string_view what);

}  // namespace ferry::testing
