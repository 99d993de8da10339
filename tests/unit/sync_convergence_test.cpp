// When a sync has converged, and when it has stayed so long enough (engine/sync/convergence.hpp).

#include <gtest/gtest.h>

#include "engine/sync/convergence.hpp"

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;

TEST(shard_convergence, needs_the_snapshot_the_subscription_no_reconcile_and_nothing_dirty) {
  shard_convergence c{true, true, false, 0};
  EXPECT_TRUE(c.converged());
  EXPECT_FALSE((shard_convergence{false, true, false, 0}.converged()));
  EXPECT_FALSE((shard_convergence{true, false, false, 0}.converged()));
  EXPECT_FALSE((shard_convergence{true, true, true, 0}.converged()));
  EXPECT_FALSE((shard_convergence{true, true, false, 1}.converged()));
}

TEST(settle_clock, ends_once_converged_without_a_break_for_the_settle_time) {
  settle_clock settle(200ms);
  const auto t0 = settle_clock::clock::time_point{} + 1h;
  EXPECT_FALSE(settle.observe(true, t0));
  EXPECT_EQ(settle.since(), t0);
  EXPECT_FALSE(settle.observe(true, t0 + 150ms));
  EXPECT_FALSE(settle.observe(false, t0 + 160ms));  // a break starts it over
  EXPECT_FALSE(settle.since());
  EXPECT_FALSE(settle.observe(true, t0 + 170ms));
  EXPECT_FALSE(settle.observe(true, t0 + 369ms));
  EXPECT_TRUE(settle.observe(true, t0 + 370ms));
  settle_clock at_once(0ms);
  EXPECT_TRUE(at_once.observe(true, t0));
}

}  // namespace
}  // namespace ferry::engine
