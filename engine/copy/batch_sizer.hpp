#pragma once
// How many keys a reader batch holds: about `batch_bytes` of payload, learned from the sizes
// the readers see, at most `batch_keys`, and under a key rate limit at most ~1/20 s of the rate
// so the limit stays smooth. It grows gently (a batch of small keys may hide big ones) and
// shrinks at once. Pure; on the shard's thread, the readers report and the scanner asks.

#include <algorithm>
#include <cstddef>

namespace ferry::engine {

/// See the file comment.
class batch_sizer {
 public:
  /// Most keys per batch, payload bytes a batch aims at, and the key rate limit (0 = none).
  batch_sizer(std::size_t batch_keys, std::size_t batch_bytes, double keys_per_sec)
      : most_(std::max<std::size_t>(batch_keys, 1)), batch_bytes_(batch_bytes) {
    if (keys_per_sec > 0) {
      most_ = std::clamp<std::size_t>(static_cast<std::size_t>(keys_per_sec / 20), 1, most_);
    }
    keys_ = std::min<std::size_t>(32, most_);
    per_key_ = std::max<std::size_t>(batch_bytes_ / 32, 1);
  }

  /// A reader read `keys` keys holding `bytes` of payload.
  void observe(std::size_t keys, std::size_t bytes) noexcept {
    if (keys == 0) return;
    const std::size_t per_key = std::max<std::size_t>(bytes / keys, 1);
    per_key_ = per_key;
    const std::size_t wanted = std::clamp<std::size_t>(batch_bytes_ / per_key, 1, most_);
    keys_ = wanted < keys_ ? wanted : std::min(wanted, keys_ * 2);
  }

  /// Keys the next batch should hold (at least 1).
  std::size_t keys_per_batch() const noexcept { return keys_; }

  /// Bytes a reader reserves before it reads `keys` keys: twice what they are expected to weigh
  /// (batches vary), and at least 64 KiB. Payloads past it are read again with a reservation of
  /// their own.
  std::size_t reservation(std::size_t keys) const noexcept {
    return std::max<std::size_t>(2 * keys * per_key_, std::size_t{64} << 10);
  }

 private:
  std::size_t most_;
  std::size_t batch_bytes_;
  std::size_t keys_ = 32;
  std::size_t per_key_ = 1;  // payload bytes per key in the last batch read
};

}  // namespace ferry::engine
