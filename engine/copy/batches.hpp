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
};

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
};

}  // namespace ferry::engine
