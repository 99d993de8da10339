// Retries by cause and reconnects for the metrics endpoint: a redirect round counts each round
// it runs again under the cause of the first key sent again (so the causes add up to
// rounds_retried()), and error codes map to their errc or to "other".

#include "engine/cluster/link_stats.hpp"

#include <gtest/gtest.h>

#include <boost/system/errc.hpp>
#include <numeric>

#include "engine/cluster/redirect_round.hpp"

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;
using protocol::errc;

std::uint64_t retries_of(const link_counts& c, errc cause) {
  return c.retries[static_cast<std::size_t>(cause)];
}

std::uint64_t total(const link_counts& c) {
  return std::accumulate(c.retries.begin(), c.retries.end(), std::uint64_t{0});
}

TEST(link_stats, a_round_run_again_counts_once_under_its_first_cause) {
  link_stats stats;
  redirect_round round(home_node::own_node, moved_policy::follow, backoff(1ms, 10ms, 10s, 1));
  round.count_into(&stats);
  round.begin(3);
  auto groups = round.plan(nullptr, {});
  ASSERT_EQ(groups.size(), 1u);
  auto moved = protocol::parse_redirect("MOVED 12000 10.0.0.6:7003");
  ASSERT_TRUE(moved.has_value());
  round.redirect(0, *moved, "10.0.0.5");
  round.retry_same(1, groups[0], errc::tryagain);
  EXPECT_EQ(round.finish(backoff::clock::now()).next, round_outcome::step::again);
  groups = round.plan(nullptr, {});
  round.retry_same(1, groups[1], errc::loading);  // the own node's group is second now
  round.finish(backoff::clock::now());
  round.plan(nullptr, {});
  EXPECT_EQ(round.finish(backoff::clock::now()).next, round_outcome::step::done);

  const link_counts c = stats.snapshot();
  EXPECT_EQ(retries_of(c, errc::moved), 1u);
  EXPECT_EQ(retries_of(c, errc::loading), 1u);
  EXPECT_EQ(retries_of(c, errc::tryagain), 0u);  // same round as the MOVED
  EXPECT_EQ(total(c), round.rounds_retried());
}

TEST(link_stats, ask_and_a_cause_the_caller_cannot_name) {
  link_stats stats;
  redirect_round round(home_node::own_node, moved_policy::follow, backoff(1ms, 10ms, 10s, 1));
  round.count_into(&stats);
  round.begin(1);
  round.plan(nullptr, {});
  auto ask = protocol::parse_redirect("ASK 7 10.0.0.6:7003");
  ASSERT_TRUE(ask.has_value());
  round.redirect(0, *ask, "10.0.0.5");
  round.finish(backoff::clock::now());
  round.plan(nullptr, {});
  round.retry(0);  // no cause given
  round.finish(backoff::clock::now());
  const link_counts c = stats.snapshot();
  EXPECT_EQ(retries_of(c, errc::ask), 1u);
  EXPECT_EQ(c.retries[link_counts::other_cause], 1u);
  EXPECT_EQ(link_counts::cause_name(static_cast<std::size_t>(errc::ask)), "ask");
  EXPECT_EQ(link_counts::cause_name(link_counts::other_cause), "other");
}

TEST(link_stats, error_codes_count_under_their_errc_or_other) {
  link_stats stats;
  stats.retried(protocol::make_error_code(errc::timeout));
  stats.retried(protocol::make_error_code(errc::connection_closed));
  stats.retried(protocol::make_error_code(errc::connection_closed));
  stats.retried(boost::system::errc::make_error_code(boost::system::errc::connection_reset));
  stats.reconnected();
  link_counts c = stats.snapshot();
  EXPECT_EQ(retries_of(c, errc::timeout), 1u);
  EXPECT_EQ(retries_of(c, errc::connection_closed), 2u);
  EXPECT_EQ(c.retries[link_counts::other_cause], 1u);
  EXPECT_EQ(c.reconnects, 1u);
  c += stats.snapshot();
  EXPECT_EQ(retries_of(c, errc::connection_closed), 4u);
  EXPECT_EQ(c.reconnects, 2u);
  // Every cause has a label value.
  for (std::size_t i = 1; i < link_counts::causes; ++i) {
    EXPECT_FALSE(link_counts::cause_name(i).empty()) << i;
  }
}

}  // namespace
}  // namespace ferry::engine
