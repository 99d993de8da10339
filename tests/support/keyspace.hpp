#pragma once
// The independent oracle: a sorted, canonical dump of every key's type, value and absolute
// expiry, read with plain type commands (never DUMP), plus DEBUG DIGEST and a readable diff.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// One key, canonically.
struct key_record {
  /// Key bytes.
  std::string key;
  /// TYPE: string, list, set, zset, hash, stream.
  std::string type;
  /// Canonical value items:
  /// string: {bytes}; list: elements in order; set: members sorted;
  /// zset: member, score, member, score... sorted by member (scores as Redis prints them);
  /// hash: field, value, ... sorted by field;
  /// stream: "entry <id> <len>:<field> <len>:<value>..." per entry, one "meta ..." item
  /// (last-generated-id, max-deleted-entry-id, entries-added, recorded-first-entry-id), then
  /// per group (by name) "group ...", its pending entries "pending <group> <id> <consumer>
  /// deliveries=<n>" and consumers "consumer <group> <name> pending=<n>".
  std::vector<std::string> value;
  /// Absolute expiry in ms since the epoch (PEXPIRETIME), -1 for none.
  std::int64_t expire_at_ms = -1;
  /// Equality of all fields.
  friend bool operator==(const key_record&, const key_record&) = default;
};

/// All keys, sorted by key bytes.
using keyspace = std::vector<key_record>;

/// Reads every key of `target` (SCAN on every shard; keys vanishing mid-way are skipped).
keyspace dump_keyspace(key_router& target);

/// DEBUG DIGEST of the whole dataset (40 hex digits; all zeros when empty). For one server this
/// is its DEBUG DIGEST. For a cluster the masters' digests are combined into the digest one
/// server holding all the keys would report: Redis XORs per-key digests onto SHA1 of 20 zero
/// bytes (db 0's seed), so combined = seed ^ XOR over non-empty masters of (digest ^ seed).
std::string debug_digest(key_router& target);

/// Empty when equal; otherwise a readable report of the first `max_differences` differences
/// (missing, extra, type, expiry, first differing value item), for EXPECT messages.
std::string diff_keyspaces(const keyspace& expected, const keyspace& actual,
                           std::size_t max_differences = 10);

}  // namespace ferry::testing
