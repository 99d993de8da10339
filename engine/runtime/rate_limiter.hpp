#pragma once
// Source protection: --max-keys-per-sec and --max-bytes-per-sec across every shard and thread.
//
// A generic cell rate algorithm per resource: each request pushes a "next free" time forward by
// its cost; a caller whose request lands in the future waits that long. A small burst allowance
// keeps pipelines full without letting the average exceed the rate.
//
// Thread: take() is safe from any thread (a mutex; called once per batch).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace ferry::engine {

/// See the file comment.
class rate_limiter {
 public:
  using clock = std::chrono::steady_clock;

  /// Limits of `keys_per_sec` and `bytes_per_sec` (0 = no limit), with `burst` of slack.
  rate_limiter(double keys_per_sec, double bytes_per_sec,
               clock::duration burst = std::chrono::milliseconds{100})
      : keys_per_sec_(keys_per_sec), bytes_per_sec_(bytes_per_sec), burst_(burst) {}

  /// True when any limit is set.
  bool active() const noexcept { return keys_per_sec_ > 0 || bytes_per_sec_ > 0; }
  /// The key limit (0 = none).
  double keys_per_sec() const noexcept { return keys_per_sec_; }

  /// Charges `keys` and `bytes` at `now`; returns how long to wait before going on.
  clock::duration take(std::uint64_t keys, std::uint64_t bytes, clock::time_point now) {
    std::lock_guard lock(mutex_);
    clock::duration wait{0};
    if (keys_per_sec_ > 0 && keys != 0)
      wait = std::max(wait, charge(next_keys_, keys, keys_per_sec_, now));
    if (bytes_per_sec_ > 0 && bytes != 0) {
      wait = std::max(wait, charge(next_bytes_, bytes, bytes_per_sec_, now));
    }
    return wait;
  }

 private:
  clock::duration charge(clock::time_point& next_free, std::uint64_t cost, double rate,
                         clock::time_point now) {
    next_free = std::max(next_free, now - burst_) +
                std::chrono::duration_cast<clock::duration>(
                    std::chrono::duration<double>(static_cast<double>(cost) / rate));
    return std::max(clock::duration{0}, next_free - now - burst_);
  }

  double keys_per_sec_;
  double bytes_per_sec_;
  clock::duration burst_;
  std::mutex mutex_;
  clock::time_point next_keys_{};
  clock::time_point next_bytes_{};
};

}  // namespace ferry::engine
