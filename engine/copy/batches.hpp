#pragma once
// The plain structs that flow between the stages of one shard.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/copy/counters.hpp"
#include "engine/verify/copied_keys.hpp"
#include "protocol/wire/bytes.hpp"

namespace ferry::engine {

/// Keys from one SCAN reply (or a part of one), on their way to a reader.
struct key_batch {
  /// Sequence number of the SCAN call that produced the keys (see scan_ledger).
  std::uint64_t scan_seq = 0;
  /// The keys; they share the SCAN reply's storage.
  std::vector<protocol::bytes> keys;
};

/// What a writer does with a record.
enum class record_kind : std::uint8_t {
  restore,  ///< RESTORE key <expire_at_ms> <payload> ABSTTL [REPLACE]
  erase,    ///< DEL key: the key is gone from the source (a live sync's re-copy)
  string,   ///< SET key <payload> [PXAT <expire_at_ms>] [NX]: a string read with GET
  rebuild,  ///< copy it with type commands (struct mode, engine/copy/struct_stage.hpp)
};

/// Why a key is copied with type commands instead of RESTORE (the report counts each).
enum class rebuild_reason : std::uint8_t {
  none,             ///< not rebuilt
  forced,           ///< --mode struct
  restore_refused,  ///< the target refuses RESTORE (renamed away, not allowed, geo-replicated)
  bad_payload,      ///< the target cannot read the payload (a newer RDB version or type)
  over_bulk_limit,  ///< the payload is over the target's proto-max-bulk-len
  big_key,          ///< the payload is over --big-key-bytes (never held whole)
};

/// Number of rebuild reasons, `none` included.
inline constexpr std::size_t rebuild_reasons = 6;

/// "forced", "restore_refused", "bad_payload", "over_bulk_limit", "big_key" ("none").
constexpr const char* name_of(rebuild_reason why) noexcept {
  switch (why) {
    case rebuild_reason::forced:
      return "forced";
    case rebuild_reason::restore_refused:
      return "restore_refused";
    case rebuild_reason::bad_payload:
      return "bad_payload";
    case rebuild_reason::over_bulk_limit:
      return "over_bulk_limit";
    case rebuild_reason::big_key:
      return "big_key";
    case rebuild_reason::none:
      break;
  }
  return "none";
}

/// No type byte known (a payload's first byte is its RDB type).
inline constexpr std::uint8_t unknown_rdb_type = 0xff;

/// One key read from the source, ready for the target.
struct record {
  /// Key name (binary).
  protocol::bytes key;
  /// DUMP payload (the string's value for `string`), shared with the reader's reply buffer
  /// (never copied); empty for `erase`.
  protocol::bytes payload;
  /// Absolute expiry in Unix milliseconds; 0 for none (RESTORE's ttl argument with ABSTTL).
  std::int64_t expire_at_ms = 0;
  /// Hash slot of `key`, for routing to a target master.
  std::uint16_t slot = 0;
  /// What the writer does with it.
  record_kind kind = record_kind::restore;
  /// Why it is rebuilt (`rebuild` records).
  rebuild_reason why = rebuild_reason::none;
  /// The RDB type byte of its payload (also when the payload was not kept), or
  /// unknown_rdb_type.
  std::uint8_t rdb_type = unknown_rdb_type;
  /// Bytes of its DUMP payload, also when the payload was not kept (0: unknown).
  std::uint64_t size = 0;
};

/// Records read from one key batch.
struct record_batch {
  /// The SCAN call the keys came from.
  std::uint64_t scan_seq = 0;
  /// Keys that still exist on the source.
  std::vector<record> records;
  /// Bytes charged to the in-flight budget (payloads and keys).
  std::size_t charged_bytes = 0;
  /// Keys of the part already settled by the reader (vanished, failed).
  counts tally;
};

/// One part of a SCAN call, settled: every key written, vanished, skipped or failed.
struct settled_part {
  /// The SCAN call (or, for other feeders, the unit their ledger counts).
  std::uint64_t seq = 0;
  /// How its keys were settled.
  counts tally;
  /// The copied keys the inline verifier is to compare (empty when it does not run).
  copied_batch verify;
  /// Keys of the part handed on to struct mode instead: 1 when they were, and they then come
  /// back as a settled part of their own for the same `seq` (the part stays open till then).
  std::uint32_t deferred = 0;
};

}  // namespace ferry::engine
