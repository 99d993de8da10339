#pragma once
// The three kinds of value a metric family owns: counters, gauges and histograms.
//
// Each is a handful of relaxed atomics, so the hot path (a shard's thread counting a batch) takes
// no lock and allocates nothing; a scrape on the metrics server's thread reads them while they
// change. A scrape may see a batch counted in one family and not yet in another: Prometheus
// samples are moments, not transactions.
//
// Thread: every method is safe from any thread.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ferry::engine::metrics {

/// A value that only goes up (keys copied, bytes written, retries). Exposed as `*_total`.
class counter {
 public:
  /// Adds `n`.
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  /// The current value.
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (bytes in flight, dirty keys, a phase flag, a timestamp).
class gauge {
 public:
  /// Replaces the value.
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  /// Adds `d` (negative to subtract).
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  /// The current value.
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// What a histogram holds at one moment: cumulative bucket counts, as exposed.
struct histogram_snapshot {
  /// Observations <= each upper bound of the family, in order (cumulative, as exposed).
  std::vector<std::uint64_t> cumulative;
  /// Every observation (the `+Inf` bucket and `_count`).
  std::uint64_t count = 0;
  /// The sum of the observations.
  double sum = 0;
};

/// A distribution of observations (batch latency, sync lag) in fixed buckets.
class histogram {
 public:
  /// A histogram over `bounds`: finite upper bounds in increasing order, which must outlive it
  /// (its family owns them).
  explicit histogram(std::span<const double> bounds)
      : bounds_(bounds),
        buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

  /// Counts `v` in the first bucket whose bound is >= v (Prometheus's `le`) and adds it to the
  /// sum. No lock, no allocation: a binary search over a dozen bounds and two atomic adds. A NaN
  /// is ignored (it would poison the sum forever).
  void observe(double v) noexcept {
    if (std::isnan(v)) return;
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
    buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
  }

  /// The buckets made cumulative. `count` is the sum of the buckets read, so the `+Inf` bucket
  /// and `_count` always agree, even while observations arrive.
  histogram_snapshot snapshot() const {
    histogram_snapshot s;
    s.cumulative.reserve(bounds_.size());
    std::uint64_t running = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
      running += buckets_[i].load(std::memory_order_relaxed);
      s.cumulative.push_back(running);
    }
    s.count = running + buckets_[bounds_.size()].load(std::memory_order_relaxed);
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }

  /// The upper bounds (without +Inf).
  std::span<const double> bounds() const noexcept { return bounds_; }

 private:
  std::span<const double> bounds_;
  // One per bound plus the +Inf bucket; not cumulative, so observe() touches one of them.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

}  // namespace ferry::engine::metrics
