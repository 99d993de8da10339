// The token bucket holds its average rate, allows a small burst, and is idle when unset.

#include "engine/runtime/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;
using clock_type = rate_limiter::clock;

/// Simulates callers that always wait as told: the keys they get through in `span`.
std::uint64_t simulate(rate_limiter& limiter, std::uint64_t keys_per_request,
                       std::uint64_t bytes_per_request, clock_type::duration span) {
  const auto start = clock_type::time_point{} + 1h;
  auto now = start;
  std::uint64_t done = 0;
  while (now - start < span) {
    now += limiter.take(keys_per_request, bytes_per_request, now);
    if (now - start >= span) break;
    done += keys_per_request;
    now += 1ms;  // the request itself takes a little time
  }
  return done;
}

TEST(rate_limiter, holds_the_key_rate_over_ten_seconds) {
  rate_limiter limiter(1'000, 0);
  const auto done = simulate(limiter, 50, 0, 10s);
  EXPECT_NEAR(static_cast<double>(done), 10'000.0, 500.0);
}

TEST(rate_limiter, holds_the_byte_rate) {
  rate_limiter limiter(0, 1'000'000);
  const auto done = simulate(limiter, 1, 100'000, 10s);  // 10 requests/s of 100 kB
  EXPECT_NEAR(static_cast<double>(done), 100.0, 5.0);
}

TEST(rate_limiter, the_tighter_limit_wins) {
  rate_limiter limiter(1'000, 10'000);
  const auto done = simulate(limiter, 10, 1'000, 10s);  // bytes allow only 100 keys/s
  EXPECT_NEAR(static_cast<double>(done), 1'000.0, 60.0);
}

TEST(rate_limiter, a_small_burst_goes_through_at_once) {
  rate_limiter limiter(1'000, 0, 100ms);
  const auto now = clock_type::time_point{} + 1h;
  // An idle limiter lets 100 ms worth of keys through beyond the first request at once...
  EXPECT_EQ(limiter.take(100, 0, now), clock_type::duration{0});
  EXPECT_EQ(limiter.take(100, 0, now), clock_type::duration{0});
  // ...and then makes callers wait for the rate.
  EXPECT_EQ(limiter.take(100, 0, now), 100ms);
}

TEST(rate_limiter, unset_limits_never_wait) {
  rate_limiter limiter(0, 0);
  EXPECT_FALSE(limiter.active());
  const auto now = clock_type::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.take(1'000'000, 1'000'000'000, now), 0ns);
}

}  // namespace
}  // namespace ferry::engine
