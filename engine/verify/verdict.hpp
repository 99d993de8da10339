#pragma once
// What the verifier decides about one key, and the pure rules it decides by: which difference
// comes first, when two expiries differ, when a source has moved on, and how each side is
// described to a person. No I/O; unit-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/wire/bytes.hpp"

namespace ferry::engine {

/// How a key of the target differs from the source.
enum class difference {
  none,     ///< equal (or gone from the source: nothing to compare)
  missing,  ///< on the source, not on the target
  extra,    ///< on the target, not on the source
  type,     ///< both hold the key, with different types
  value,    ///< same type, different value (or length, in quick mode)
  expiry,   ///< same value, expiries apart by more than the tolerance (or only one has one)
  changed,  ///< the source kept changing while it was compared: no verdict
};

/// "missing", "extra", "type", "value", "expiry", "changed" ("equal" for none).
std::string_view name_of(difference kind) noexcept;

/// What one side holds for a key, as far as it was read.
struct key_state {
  /// TYPE's answer; "none" when the key does not exist.
  std::string type = "none";
  /// Absolute expiry in Unix ms; -1 for none.
  std::int64_t expire_at_ms = -1;
  /// SHA-1 (hex) of the DUMP payload without its trailer; empty when not read.
  std::string digest;
  /// Elements (bytes for a string); -1 when not read.
  std::int64_t length = -1;
  /// Too large for a digest (see compare_options::digest_max_bytes): compare element by element.
  bool oversized = false;
  /// `digest` is of the whole value, read here (a small string): two such digests that differ
  /// are values that differ, with no element-wise comparison to confirm it.
  bool whole = false;

  /// True when the key exists.
  bool exists() const noexcept { return type != "none"; }
  /// Field-wise equality.
  friend bool operator==(const key_state&, const key_state&) = default;
};

/// The verifier's answer for one key.
struct verdict {
  /// The key (its own copy: verdicts outlive the replies they came from).
  protocol::bytes key;
  /// How it differs; `none` when equal.
  difference kind = difference::none;
  /// True when the key was gone from the source when compared (kind is then none).
  bool vanished = false;
  /// True when the values were compared element by element (digests differed).
  bool deep = false;
  /// The source as last read.
  key_state source;
  /// The target as last read.
  key_state target;
  /// A short explanation ("field \"f1\" differs", "expiries 10000 ms apart").
  std::string detail;
  /// Comparisons made before the verdict.
  unsigned rounds = 1;
};

/// For a key ferry copied itself (`ferry copy --verify`), knowing what it wrote: the digest
/// (dump_digest) and absolute expiry (-1 = none) of the payload. A value, type or expiry
/// difference whose source no longer holds what was copied says nothing about the copy (the
/// source was written after ferry read it): it becomes `changed`. Any other verdict, `missing`
/// included (the target lost what it acknowledged), is left as it is. Without a source digest
/// (a key too large for one) only the expiry can tell.
void judge_against_copy(verdict& v, std::string_view copied_digest,
                        std::int64_t copied_expire_at_ms, std::int64_t tolerance_ms);

/// The same for a string ferry wrote by value (read with GET, written with SET): the source's
/// value read again after the difference was found, as sha1_hex() (empty when it is no longer
/// a string or is gone), against the value's digest ferry wrote.
void judge_against_copied_value(verdict& v, std::string_view source_value_digest,
                                std::string_view copied_value_digest,
                                std::int64_t copied_expire_at_ms, std::int64_t tolerance_ms);

/// True when two expiries (-1 = none) differ: one side has one and the other not, or they are
/// more than `tolerance_ms` apart.
bool expiry_differs(std::int64_t a, std::int64_t b, std::int64_t tolerance_ms) noexcept;

/// True when a side read again (`now`) is not what it was (`before`): another type or digest
/// or length, or an expiry moved by more than `slack_ms` (0 when read exactly with PEXPIRETIME;
/// PTTL-derived times jitter).
bool state_moved(const key_state& before, const key_state& now, std::int64_t slack_ms) noexcept;

/// The absolute expiry from a PEXPIRETIME (`absolute`) or PTTL reply read at `now_ms`:
/// -1 for none, -2 when the key does not exist.
std::int64_t expiry_from_reply(std::int64_t reply, bool absolute, std::int64_t now_ms) noexcept;

/// "fields" for a hash, "members" for a set or sorted set, "elements" for a list, "entries"
/// for a stream, "bytes" for a string.
std::string_view length_unit(std::string_view type) noexcept;

/// A key's size as the verifier estimates it without asking the server for its memory: a
/// string's length, 64 bytes per element of a collection (what the digest script computes too),
/// 0 when the length is unknown.
std::size_t estimated_bytes(std::string_view type, std::int64_t length) noexcept;

/// "2026-11-22T10:00:00.000Z".
std::string utc_time(std::int64_t unix_ms);

/// "absent", or e.g. "hash, 3 fields, no expiry" / "string, 5 bytes, expires at
/// 2026-11-22T10:00:00.000Z" (the length only when known).
std::string describe(const key_state& state);

/// SHA-1 of `data` as 40 lowercase hex digits.
std::string sha1_hex(std::string_view data);

/// The verifier's digest of a DUMP payload computed here: SHA-1 (hex) of the payload without
/// its 10-byte trailer (RDB version and CRC64), the same value the server-side script returns.
std::string dump_digest(std::string_view payload);

/// One line of the --diff file for `v`, without the newline: kind, key (printable),
/// key_base64, source and target (described, never a value), detail, rounds, and `repaired`
/// (with `repair_error` when it failed) when a repair was attempted. Plain ASCII.
std::string diff_line(const verdict& v, std::optional<bool> repaired = std::nullopt,
                      const std::string& repair_error = {});

/// True when two sorted-set scores as Redis prints them are the same number.
bool same_score(std::string_view a, std::string_view b) noexcept;

/// At most `limit` bytes of `bytes`, printable (see printable_key), "..." when cut.
std::string short_text(std::string_view bytes, std::size_t limit = 40);

}  // namespace ferry::engine
