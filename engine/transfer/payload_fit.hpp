#pragma once
// How a DUMP payload reaches a target of a known RDB version: as it is, with its trailer
// rewritten to an older version (the same bytes of value: exact, see protocol/rdb/payload.hpp),
// or not by RESTORE at all (struct mode). One pure decision for every writer of payloads: the
// copy's writers (engine/copy/writer.cpp) and the RDB importer (engine/import) call it.
//
// It never copies the payload: a rewrite is a new 10-byte trailer (RDB version + CRC64) that
// the caller sends in place of the payload's own (command_buffer::arg_ref_with_tail), or
// applies to a payload it owns (`apply_fit`). The CRC64 is computed once over the body and both
// checks the payload's own trailer and makes the new one, so a damaged payload is never given a
// valid checksum: it goes as it is and the target refuses it.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::engine {

/// What to do with one payload.
enum class payload_way : std::uint8_t {
  as_is,       ///< the target accepts its version (or the version is unknown): RESTORE it
  downgraded,  ///< RESTORE it with `trailer` in place of its own last 10 bytes
  rebuild,     ///< no exact rewrite exists for this target: copy it with type commands (`reason`)
};

/// The decision, with what the caller needs to act on it.
struct payload_fit {
  /// The way.
  payload_way way = payload_way::as_is;
  /// For `downgraded`: the new trailer (RDB version LE, CRC64 LE).
  std::array<char, 10> trailer{};
  /// The RDB version the payload carries (its own), and for `downgraded` the one it will carry.
  std::uint16_t from = 0;
  std::uint16_t to = 0;
  /// The payload's RDB type id (0xff when it is too short to have one).
  std::uint8_t type_id = 0xff;
  /// For `rebuild`: why, naming the type and both versions.
  std::string reason;
};

/// Decides how `payload` reaches a target whose own RDB version is `target_rdb` (0: unknown,
/// always `as_is`). A payload too short to be one, or whose CRC64 does not match, goes `as_is`:
/// the target judges it (and refuses it with its own words).
payload_fit fit_payload(std::string_view payload, std::uint16_t target_rdb);

/// Applies a `downgraded` fit to a payload the caller owns (its last 10 bytes); other ways leave
/// it alone.
void apply_fit(std::string& payload, const payload_fit& fit);

}  // namespace ferry::engine
