#pragma once
// The encoding-independent digest of a small value, computed here from its DUMP payload.
//
// Between servers of different versions the canonical digest script (digest_scripts.hpp) costs
// each server Lua tables and a sort per key, against one DUMP for equal versions. A small value's
// DUMP is a few dozen bytes: reading it is cheaper for the server than the script, and ferry's
// own RDB decoder (protocol/rdb/decode.hpp) understands every encoding of every version, so each
// side's payload is decoded here into the same canonical form: a string's bytes (string_digest,
// as the direct string reads and both scripts give it), a list in order, set members sorted,
// sorted-set members sorted with their scores (%.17g: exact, -0 and ±inf kept), hash fields
// sorted with their values and field expiries (Redis 7.4's hashes with field TTLs), and a stream's
// entries, length, last id, consumer groups with their last-delivered ids, consumers and pending
// entries (owner and delivery count, not times), plus Redis 7's stream metadata when asked.
//
// The form differs from the script's (its text starts "ferry-canonical-1|"), so a value digested
// here never matches one digested by the script: when one side's payload was too large to read
// and the other's was not, the key is compared element by element, which is exact. Module values
// and payloads that do not decode get no digest here (the caller asks the server's script).

#include <optional>
#include <string>
#include <string_view>

namespace ferry::engine {

/// What a payload digest includes.
struct payload_digest_options {
  /// Include Redis 7's stream metadata (entries-added, max-deleted-entry-id, the groups'
  /// entries-read), as the canonical script does: only when both servers write it (both >= 7).
  bool stream_v7 = false;
};

/// The canonical digest (SHA-1 hex) of the value of DUMP `payload`, or nothing for a module
/// value or a payload that does not decode.
std::optional<std::string> payload_canonical_digest(std::string_view payload,
                                                    payload_digest_options options = {});

}  // namespace ferry::engine
