// The lag histogram (engine/sync/lag_histogram.hpp): buckets, quantiles read off their bounds,
// windows by subtraction, sums over shards.

#include <gtest/gtest.h>

#include "engine/sync/lag_histogram.hpp"

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;

TEST(lag_histogram, each_lag_falls_in_a_bucket_whose_bound_holds_it_within_ten_percent) {
  for (double us : {0.0, 50.0, 100.0, 101.0, 999.0, 1'000.0, 12'345.0, 1e6, 5e8}) {
    const std::size_t b = lag_bucket_of(us);
    EXPECT_GE(lag_bucket_bound_us(b), us) << us;
    if (b > 0 && us > 100) {
      EXPECT_LT(lag_bucket_bound_us(b - 1), us) << us;
    }
    if (us > 100 && us < 5e8) {
      EXPECT_LE(lag_bucket_bound_us(b), us * 1.1 + 1e-6) << us;
    }
  }
  EXPECT_EQ(lag_bucket_of(1e15), lag_buckets - 1);
}

TEST(lag_histogram, quantiles_come_from_bucket_bounds_and_never_exceed_the_maximum) {
  lag_histogram h;
  EXPECT_EQ(h.snapshot().quantile_ms(0.99), 0);
  for (int i = 0; i < 98; ++i) h.record(1ms);
  h.record(50ms);
  h.record(80ms);
  const lag_snapshot s = h.snapshot();
  EXPECT_EQ(s.total(), 100u);
  EXPECT_NEAR(s.quantile_ms(0.5), 1.0, 0.1);
  EXPECT_NEAR(s.quantile_ms(0.98), 1.0, 0.1);
  EXPECT_NEAR(s.quantile_ms(0.99), 50.0, 5.0);
  EXPECT_DOUBLE_EQ(s.quantile_ms(1.0), 80.0);
  EXPECT_DOUBLE_EQ(s.max_ms(), 80.0);
}

TEST(lag_histogram, a_window_is_the_difference_of_two_snapshots) {
  lag_histogram h;
  for (int i = 0; i < 10; ++i) h.record(200ms);
  const lag_snapshot before = h.snapshot();
  for (int i = 0; i < 10; ++i) h.record(2ms);
  const lag_snapshot window = h.snapshot().since(before);
  EXPECT_EQ(window.total(), 10u);
  EXPECT_NEAR(window.quantile_ms(0.99), 2.0, 0.25);
  EXPECT_LT(window.max_ms(), 3.0) << "the window's maximum is its own";
  lag_snapshot sum = window;
  sum += before;
  EXPECT_EQ(sum.total(), 20u);
  EXPECT_DOUBLE_EQ(sum.max_ms(), 200.0);
}

}  // namespace
}  // namespace ferry::engine
