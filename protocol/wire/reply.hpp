#pragma once
// A RESP2 reply as ferry holds it.

#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/wire/bytes.hpp"

namespace ferry::protocol {

/// What a reply is.
enum class reply_kind : std::uint8_t {
  string,   ///< a bulk string (`$`)
  status,   ///< a simple string (`+OK`)
  error,    ///< an error (`-ERR ...`)
  integer,  ///< an integer (`:`)
  nil,      ///< a nil bulk or nil array (`$-1`, `*-1`)
  array,    ///< an array (`*`), possibly nested
  skipped,  ///< a bulk string the reader did not keep (see bulk_keeping): `integer` is its
            ///< length, `str` its first bytes
};

/// One reply. Bulk, status and error text share the reader's storage (see `bytes`).
struct reply {
  /// What this reply is.
  reply_kind kind = reply_kind::nil;
  /// The value of an integer reply; 0 otherwise.
  std::int64_t integer = 0;
  /// The text of a string, status or error reply; empty otherwise.
  bytes str;
  /// The elements of an array reply; empty otherwise.
  std::vector<reply> elements;

  /// True for an error reply.
  bool is_error() const noexcept { return kind == reply_kind::error; }
  /// True for a nil reply.
  bool is_nil() const noexcept { return kind == reply_kind::nil; }
  /// True for a bulk string the reader skipped (its length in `integer`).
  bool is_skipped() const noexcept { return kind == reply_kind::skipped; }
  /// The text of a string, status or error reply.
  std::string_view text() const noexcept { return str.view(); }

  /// Deep value equality (kind, integer, bytes, elements); where the bytes live does not matter.
  friend bool operator==(const reply& a, const reply& b) = default;
};

}  // namespace ferry::protocol
