#pragma once
// Deterministic test data: every Redis type and every encoding a DUMP payload can carry, plus the
// key-name shapes that break naive code (NUL, CR, LF, spaces, invalid UTF-8, hash tags, "").
// The same seed and options give byte-identical keyspaces on any target, standalone or cluster.

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// What `fill_every_type` writes.
struct dataset_options {
  /// Seeds the generator; equal seeds give equal data.
  std::uint64_t seed = 1;
  /// Keys of each small kind (int/embstr/raw strings, listpack lists/sets/zsets/hashes,
  /// intsets, small streams).
  std::size_t count_per_kind = 20;
  /// Keys of each large kind (100 KB strings, quicklists, hashtable sets and hashes, skiplist
  /// zsets, hashes with long values, streams with consumer groups).
  std::size_t big_per_kind = 2;
  /// Fraction (0..1) of keys given an absolute expiry 5 min .. 3 h after `expiry_base_ms`.
  double with_expiry_fraction = 0.1;
  /// Prepended to every key. The empty key "" is written only when this is empty.
  std::string key_prefix;
  /// Base of expiry times, ms since the epoch; 0 = now. Pass the same value to fill two servers
  /// that must compare equal (DEBUG DIGEST includes expiry times).
  std::int64_t expiry_base_ms = 0;
  /// Write the odd key names (binary, hash-tagged, empty).
  bool odd_keys = true;
};

/// What was written.
struct fill_result {
  /// Distinct keys written (what DBSIZE, summed over masters, should say).
  std::size_t keys = 0;
  /// How many of them carry an expiry.
  std::size_t keys_with_expiry = 0;
  /// The expiry base actually used.
  std::int64_t expiry_base_ms = 0;
};

/// Writes the dataset through `target` (one server or a cluster), pipelined in batches.
/// Throws on any error reply, naming the command and key.
fill_result fill_every_type(key_router& target, const dataset_options& options = {});

/// Writes `count` string keys `<key_prefix><n>` with `value_size` pseudo-random bytes each,
/// pipelined; fast enough for ~100k keys in a couple of seconds.
fill_result fill_strings(key_router& target, std::size_t count, std::size_t value_size,
                         std::uint64_t seed = 1, const std::string& key_prefix = "str:");

/// Current time in ms since the epoch (what `expiry_base_ms = 0` uses).
std::int64_t now_ms();

}  // namespace ferry::testing
