#include "engine/sync/lag_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace ferry::engine {

namespace {

constexpr double first_bound_us = 100;
constexpr double growth = 1.1;

}  // namespace

double lag_bucket_bound_us(std::size_t i) noexcept {
  return first_bound_us * std::pow(growth, static_cast<double>(i));
}

std::size_t lag_bucket_of(double us) noexcept {
  if (!(us > first_bound_us)) return 0;
  const auto i =
      static_cast<std::size_t>(std::ceil(std::log(us / first_bound_us) / std::log(growth)));
  // Rounding in log() may put a value one bucket low; the bound must hold it.
  std::size_t bucket = std::min(i, lag_buckets - 1);
  while (bucket + 1 < lag_buckets && lag_bucket_bound_us(bucket) < us) ++bucket;
  return bucket;
}

std::uint64_t lag_snapshot::total() const noexcept {
  std::uint64_t sum = 0;
  for (const auto c : counts) sum += c;
  return sum;
}

double lag_snapshot::quantile_ms(double q) const noexcept {
  const std::uint64_t n = total();
  if (n == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < lag_buckets; ++i) {
    seen += counts[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      return std::min(lag_bucket_bound_us(i), static_cast<double>(max_us)) / 1000.0;
    }
  }
  return max_ms();
}

lag_snapshot lag_snapshot::since(const lag_snapshot& earlier) const noexcept {
  lag_snapshot window;
  for (std::size_t i = 0; i < lag_buckets; ++i) {
    window.counts[i] = counts[i] - std::min(counts[i], earlier.counts[i]);
    if (window.counts[i] != 0) {
      window.max_us =
          static_cast<std::uint64_t>(std::min(lag_bucket_bound_us(i), static_cast<double>(max_us)));
    }
  }
  return window;
}

lag_snapshot& lag_snapshot::operator+=(const lag_snapshot& other) noexcept {
  for (std::size_t i = 0; i < lag_buckets; ++i) counts[i] += other.counts[i];
  max_us = std::max(max_us, other.max_us);
  return *this;
}

void lag_histogram::record(std::chrono::steady_clock::duration lag) noexcept {
  const double us = std::chrono::duration<double, std::micro>(lag).count();
  counts_[lag_bucket_of(us)].fetch_add(1, std::memory_order_relaxed);
  const auto whole = static_cast<std::uint64_t>(std::max(us, 0.0));
  auto seen = max_us_.load(std::memory_order_relaxed);
  while (whole > seen && !max_us_.compare_exchange_weak(seen, whole, std::memory_order_relaxed)) {
  }
}

lag_snapshot lag_histogram::snapshot() const noexcept {
  lag_snapshot s;
  for (std::size_t i = 0; i < lag_buckets; ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  }
  s.max_us = max_us_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace ferry::engine
