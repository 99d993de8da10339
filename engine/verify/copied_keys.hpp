#pragma once
// What a writer hands the inline verifier: small copies of the keys it copied, with the digest
// and expiry of what it wrote, so that the batch's payload memory is given back at once.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire/bytes.hpp"

namespace ferry::engine {

/// One key a writer copied, as the verifier needs it.
struct copied_key {
  /// The key (its own copy: the batch's buffers go back to the budget).
  protocol::bytes key;
  /// dump_digest() of the payload written: what the source held when it was read; for a string
  /// written by value (`by_value`), sha1_hex() of the value.
  std::string digest;
  /// The expiry written, in Unix ms; -1 for none.
  std::int64_t expire_at_ms = -1;
  /// A string ferry read with GET and wrote with SET: `digest` is its value's.
  bool by_value = false;
};

/// What a queued key costs beyond its name: the digest, the expiry and the vectors' share. An
/// estimate, so that a queue of tiny keys is bounded too.
inline constexpr std::size_t copied_key_cost = 128;

/// Copied keys of one batch, on their way to a comparer.
struct copied_batch {
  /// The keys.
  std::vector<copied_key> keys;
  /// Bytes charged to the verifier's queue (names plus copied_key_cost per key).
  std::size_t charged_bytes = 0;
};

}  // namespace ferry::engine
