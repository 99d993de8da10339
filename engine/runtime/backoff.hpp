#pragma once
// Exponential backoff with jitter, bounded by a total retry time. Pure; unit-tested.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

namespace ferry::engine {

/// Delays between attempts: random in [c/2, c] with c = min(max, initial * 2^n), until
/// `give_up_after` has passed since the first failure. `reset()` after a success.
class backoff {
 public:
  using clock = std::chrono::steady_clock;
  using duration = std::chrono::milliseconds;

  /// A policy; `seed` makes the jitter reproducible in tests.
  backoff(duration initial, duration max, duration give_up_after, std::uint64_t seed = 0)
      : initial_(initial), max_(max), give_up_after_(give_up_after), random_(seed) {}

  /// The delay before the next attempt, or nothing once the retry time is spent. A delay never
  /// reaches past the end of the retry time: the last attempt comes when it ends, not later.
  std::optional<duration> next(clock::time_point now) {
    if (!first_failure_) first_failure_ = now;
    const auto spent = std::chrono::duration_cast<duration>(now - *first_failure_);
    if (spent >= give_up_after_) return std::nullopt;
    const auto ceiling =
        std::min<std::int64_t>(max_.count(), initial_.count() << std::min<unsigned>(attempts_, 20));
    ++attempts_;
    std::uniform_int_distribution<std::int64_t> pick(ceiling / 2,
                                                     std::max<std::int64_t>(ceiling, 1));
    return std::min(duration{pick(random_)}, give_up_after_ - spent);
  }

  /// Forgets earlier failures.
  void reset() noexcept {
    attempts_ = 0;
    first_failure_.reset();
  }

  /// Failures since the last reset.
  unsigned attempts() const noexcept { return attempts_; }

 private:
  duration initial_;
  duration max_;
  duration give_up_after_;
  std::mt19937_64 random_;
  unsigned attempts_ = 0;
  std::optional<clock::time_point> first_failure_;
};

}  // namespace ferry::engine
