#pragma once
// What the source's answers for one key mean: the pure decisions of a reader (reader.cpp only
// runs the commands and does what these say). Unit-tested in tests/unit/read_outcome_test.cpp.

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/wire/errors.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::engine {

/// What to do with one key after reading it.
enum class read_action {
  value,     ///< copy it: the payload and `expire_at_ms`
  vanished,  ///< gone since SCAN (deleted, expired, or expiring before it could be written)
  redirect,  ///< the slot lives elsewhere (MOVED/ASK in `to`): read it there
  retry,     ///< "not now" (TRYAGAIN, LOADING, BUSY, ...): read it again after a pause
  fail_key,  ///< the source refuses this key only (`error`): record it as failed
  fatal,     ///< the source refuses to be read at all (`error`): stop the job
  dump,      ///< read it again with DUMP: not a string (GET's WRONGTYPE), or a string too
             ///< close to its expiry for SET ... PXAT (see judge_get)
};

/// The decision for one key and what it rests on.
struct read_outcome {
  /// What to do.
  read_action action = read_action::value;
  /// Absolute expiry in Unix ms, 0 for none (`value` only).
  std::int64_t expire_at_ms = 0;
  /// The error class (`fail_key`, `fatal`, `retry`, `redirect`).
  protocol::errc error = protocol::errc::server_error;
  /// The error reply's text, for messages and the failed-keys file (views the reply).
  std::string_view reply_text;
  /// True when the error came from the expiry command (PEXPIRETIME or PTTL), not DUMP or GET.
  bool on_expiry = false;
  /// Where a MOVED/ASK sends the key (`redirect`; nothing when the reply could not be parsed,
  /// in which case the key is read again where it was).
  std::optional<protocol::redirect> to;
};

/// Judges the replies of `DUMP key` and of `PEXPIRETIME key` (`absolute`) or `PTTL key`, read
/// at `read_at_ms`. The first error reply decides; otherwise a nil DUMP, an expiry reply of -2,
/// or an expiry at or before `read_at_ms` mean the key vanished (RESTORE would not create an
/// expired key anyway).
read_outcome judge_read(const protocol::reply& dump, const protocol::reply& expiry, bool absolute,
                        std::int64_t read_at_ms);

/// A string closer than this to its expiry when read is read again with DUMP: RESTORE ... ABSTTL
/// never creates a key whose time has passed, whereas SET ... PXAT arriving late would leave one
/// (invisible, but counted by DBSIZE until the target's expiry cycle removes it).
inline constexpr std::int64_t near_expiry_ms = 2'000;

/// Judges the replies of `GET key` and its expiry command like judge_read, except that
/// WRONGTYPE (the key is not a string) and a string expiring within near_expiry_ms of
/// `read_at_ms` mean `dump`: read it with DUMP.
read_outcome judge_get(const protocol::reply& get, const protocol::reply& expiry, bool absolute,
                       std::int64_t read_at_ms);

}  // namespace ferry::engine
