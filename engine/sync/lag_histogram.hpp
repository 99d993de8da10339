#pragma once
// Sync lag (an event's arrival to its key applied on the target) as a histogram: written by one
// shard's thread, read by anyone (progress lines, reports, the state file), and subtracted to
// look at a window ("the last 5 s") without resetting anything.
//
// Buckets grow by 10 % from 0.1 ms up to about 20 minutes, so a percentile read off a bucket's
// upper bound is at most 10 % high; the maximum is kept exactly. Pure.
//
// Thread: record() by one thread; snapshot() from any (relaxed atomics).

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace ferry::engine {

/// Number of buckets of a lag histogram.
inline constexpr std::size_t lag_buckets = 170;

/// The upper bound of bucket `i`, in microseconds (the last one is unbounded).
double lag_bucket_bound_us(std::size_t i) noexcept;

/// The bucket of a lag of `us` microseconds.
std::size_t lag_bucket_of(double us) noexcept;

/// A copy of a lag histogram at one moment, or the difference of two.
struct lag_snapshot {
  /// Lags recorded per bucket.
  std::array<std::uint64_t, lag_buckets> counts{};
  /// The largest lag recorded, in microseconds (of a window: its highest bucket's bound).
  std::uint64_t max_us = 0;

  /// Lags recorded.
  std::uint64_t total() const noexcept;
  /// The `q` quantile (0 < q <= 1) in milliseconds, read off the bucket's upper bound and never
  /// above the maximum; 0 when nothing was recorded.
  double quantile_ms(double q) const noexcept;
  /// The maximum in milliseconds.
  double max_ms() const noexcept { return static_cast<double>(max_us) / 1000.0; }
  /// What was recorded between `earlier` and this snapshot.
  lag_snapshot since(const lag_snapshot& earlier) const noexcept;
  /// Adds another histogram (shards summed for the job).
  lag_snapshot& operator+=(const lag_snapshot& other) noexcept;
};

/// See the file comment.
class lag_histogram {
 public:
  /// Records one lag.
  void record(std::chrono::steady_clock::duration lag) noexcept;
  /// Reads every bucket.
  lag_snapshot snapshot() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, lag_buckets> counts_{};
  std::atomic<std::uint64_t> max_us_{0};
};

}  // namespace ferry::engine
