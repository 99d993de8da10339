#pragma once
// The settings of `ferry copy --verify`: the inline verifier behind the writers.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ferry::engine {

/// Comparing what the writers copied, behind them (`ferry copy --verify`).
struct inline_verification {
  /// Compare copied keys at all.
  bool enabled = false;
  /// Fraction of copied keys compared (0 < sample <= 1), chosen by a hash of the key.
  double sample = 1;
  /// Expiries this far apart (ms) still count as equal.
  std::int64_t ttl_tolerance_ms = 1000;
  /// Most comparisons of a key whose source keeps changing before it is called `changed`.
  unsigned rounds = 3;
  /// Pause before a differing key is read again (doubling each round). Shorter than `ferry
  /// verify`'s: the copy knows what it wrote, so a source written since is told apart without
  /// waiting (inline_verify.hpp), and a pause holds up the copy behind it.
  std::chrono::milliseconds recheck_pause{20};
  /// JSON-lines file of differences (the format of `ferry verify --diff`); empty for none.
  std::string diff_path;
  /// Bytes of copied keys (names plus a fixed cost per key) that may wait for the verifier per
  /// shard; beyond it the writers wait, and so does the copy.
  std::size_t queue_bytes = std::size_t{4} << 20;
};

}  // namespace ferry::engine
