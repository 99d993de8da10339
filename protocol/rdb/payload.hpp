#pragma once
// The DUMP payload: <type byte><serialized value><RDB version: 2 bytes LE><CRC64: 8 bytes LE>,
// the CRC covering everything before it (src/cluster.c createDumpPayload/verifyDumpPayload).
// RESTORE refuses a version newer than the server's own even when it reads the type perfectly
// well; `downgrade_payload` rewrites the trailer exactly where that is safe.
//
// When is a downgrade exact? A payload's bytes are its type byte and that type's serialization,
// and Redis never changed the serialization of an existing type id: new layouts always got new
// ids (ziplist -> listpack, stream v1 -> v2 -> v3, hash -> hash with TTL metadata). So an older
// server reads the payload exactly when it knows the type id *with the same meaning*
// (`same_type_in`). Not exact, and left to struct mode: type ids newer than the target (e.g.
// listpack hashes 16 of RDB 10 for a 6.2 target of RDB 9, field-TTL hashes 24/25 of RDB 12 for
// 7.2/Valkey 8, Valkey 9's HASH_2 for Redis); Redis's 22/23 against Valkey's 22; targets older
// than RDB 6 (ziplists may hold 24-bit integers they cannot read). A module value (type 7) is
// version-neutral but needs the module, at an encoding version it reads, on the target.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/rdb/error.hpp"

namespace ferry::protocol::rdb {

/// The parts of a checked DUMP payload (views into it).
struct payload_view {
  /// The RDB type id (first byte).
  std::uint8_t type_id = 0;
  /// Type byte and serialized value: what the trailer's CRC starts with.
  std::string_view body;
  /// The serialized value after the type byte (what an RDB file holds after the key).
  std::string_view value;
  /// RDB version in the trailer.
  std::uint16_t version = 0;
  /// CRC64 stored in the trailer.
  std::uint64_t crc = 0;
};

/// Size of the trailer (version + CRC64).
inline constexpr std::size_t payload_trailer_size = 10;

/// Splits `payload` and checks its CRC64 (`errc::bad_checksum`) and size (`errc::truncated`).
result<payload_view> parse_payload(std::string_view payload);

/// Appends the trailer for RDB `version` to `body` (type byte + value), making it a payload.
void append_trailer(std::string& body, std::uint16_t version);

/// A payload of `type_id` with the serialized `value`, for RDB `version`.
std::string make_payload(std::uint8_t type_id, std::string_view value, std::uint16_t version);

/// What `downgrade_payload` decided.
enum class downgrade_verdict : std::uint8_t {
  unchanged,     ///< the target accepts the payload's version as it is
  rewritten,     ///< the trailer now says `version`; the target reads the value exactly
  needs_struct,  ///< no trailer rewrite is exact for this target: use struct mode (`reason`)
};

/// The outcome of `downgrade_payload`.
struct downgrade_result {
  /// The decision.
  downgrade_verdict verdict = downgrade_verdict::unchanged;
  /// The version the payload now carries (its own when unchanged or needs_struct).
  std::uint16_t version = 0;
  /// For needs_struct: why, in a sentence naming the type and both versions.
  std::string reason;
};

/// Makes `payload` acceptable to a server whose own RDB version is `target_version`, if a trailer
/// rewrite can do it exactly (see the file comment). Rewrites `payload` in place when the verdict
/// is `rewritten`. Errors: a payload that fails `parse_payload`.
result<downgrade_result> downgrade_payload(std::string& payload, std::uint16_t target_version);

/// The highest RDB version <= `version` that a server of `target_version` accepts and that gives
/// `type_id` the meaning it has in `version`; 0 when there is none.
std::uint16_t exact_version_for(std::uint8_t type_id, std::uint16_t version,
                                std::uint16_t target_version) noexcept;

/// A short name for the server generation that writes RDB `version` ("Redis 7.0",
/// "Redis 7.2 / Valkey 7.2-8.1", "Valkey 9", ...), for messages.
std::string_view servers_of_version(std::uint16_t version) noexcept;

}  // namespace ferry::protocol::rdb
