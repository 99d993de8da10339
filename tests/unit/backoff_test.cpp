// Backoff delays grow, stay jittered within their ceiling, and stop after the retry time.

#include "engine/runtime/backoff.hpp"

#include <gtest/gtest.h>

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;

TEST(backoff, grows_to_the_ceiling_with_jitter) {
  backoff policy(100ms, 1'000ms, 60s, 7);
  const auto t0 = backoff::clock::now();
  std::chrono::milliseconds ceiling = 100ms;
  for (int i = 0; i < 10; ++i) {
    auto delay = policy.next(t0 + std::chrono::seconds{i});
    ASSERT_TRUE(delay.has_value());
    EXPECT_GE(*delay, ceiling / 2) << "attempt " << i;
    EXPECT_LE(*delay, ceiling) << "attempt " << i;
    ceiling = std::min(ceiling * 2, 1'000ms);
  }
  EXPECT_EQ(policy.attempts(), 10u);
}

TEST(backoff, gives_up_after_the_retry_time) {
  backoff policy(10ms, 100ms, 5s, 1);
  const auto t0 = backoff::clock::now();
  EXPECT_TRUE(policy.next(t0).has_value());
  EXPECT_TRUE(policy.next(t0 + 4s).has_value());
  EXPECT_FALSE(policy.next(t0 + 5s).has_value());
}

TEST(backoff, reset_starts_over) {
  backoff policy(10ms, 100ms, 5s, 1);
  const auto t0 = backoff::clock::now();
  policy.next(t0);
  policy.next(t0 + 1s);
  policy.reset();
  EXPECT_EQ(policy.attempts(), 0u);
  // The retry window counts from the first failure after the reset.
  EXPECT_TRUE(policy.next(t0 + 10s).has_value());
  auto delay = policy.next(t0 + 11s);
  ASSERT_TRUE(delay.has_value());
  EXPECT_LE(*delay, 20ms);
}

TEST(backoff, the_same_seed_gives_the_same_delays) {
  backoff a(10ms, 10s, 1h, 42), b(10ms, 10s, 1h, 42);
  const auto t0 = backoff::clock::now();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(a.next(t0), b.next(t0));
}

}  // namespace
}  // namespace ferry::engine

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;

TEST(backoff, a_delay_never_reaches_past_the_retry_time) {
  // With a 5 s retry time and delays of up to 4 s, the last attempt must come at 5 s, not 8.
  backoff policy(1'000ms, 4'000ms, 5s, 11);
  const auto t0 = backoff::clock::now();
  auto now = t0;
  for (int i = 0; i < 20; ++i) {
    const auto delay = policy.next(now);
    if (!delay) break;
    now += *delay;
    EXPECT_LE(now - t0, 5s) << "attempt " << i;
  }
  EXPECT_FALSE(policy.next(now).has_value());
}

}  // namespace
}  // namespace ferry::engine
