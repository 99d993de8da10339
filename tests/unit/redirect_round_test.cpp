// The redirect round stepped reply by reply: MOVED (refresh or follow), ASK, TRYAGAIN, a slot
// with no owner, and giving up.

#include "engine/cluster/redirect_round.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;
using protocol::reply;
using protocol::reply_kind;
using step = round_outcome::step;

reply integer(std::int64_t n) { return {reply_kind::integer, n, {}, {}}; }
reply text(std::string_view s) { return {reply_kind::string, 0, protocol::bytes::copy_of(s), {}}; }
reply array(std::vector<reply> elements) { return {reply_kind::array, 0, {}, std::move(elements)}; }

/// A CLUSTER SLOTS map: masters on 127.0.0.1 at `ports`, owning `ranges`.
protocol::topology cluster(
    const std::vector<std::pair<std::uint16_t, protocol::slot_range>>& owners) {
  std::vector<reply> entries;
  int n = 0;
  for (const auto& [port, range] : owners) {
    entries.push_back(array({integer(range.start), integer(range.end),
                             array({text("127.0.0.1"), integer(port),
                                    text(std::string(40, static_cast<char>('a' + n++)))})}));
  }
  protocol::endpoint seed;
  seed.host = "127.0.0.1";
  seed.port = owners.front().first;
  auto map = protocol::topology::from_cluster_slots(array(std::move(entries)), seed);
  EXPECT_TRUE(map.has_value());
  return std::move(*map);
}

const protocol::topology three =
    cluster({{7001, {0, 5460}}, {7002, {5461, 10922}}, {7003, {10923, 16383}}});

backoff quick(std::chrono::milliseconds give_up = 10s) { return backoff(10ms, 100ms, give_up, 3); }

/// Keys of the batch: one per master of `three`, then a second for the first master.
const std::vector<std::uint16_t> slots{100, 6000, 12000, 200};
const redirect_round::slot_of slot_of = [](std::uint32_t i) { return slots[i]; };

protocol::redirect parsed(std::string_view text) {
  auto r = protocol::parse_redirect(text);
  EXPECT_TRUE(r.has_value()) << text;
  return *r;
}

TEST(redirect_round, groups_keys_by_slot_owner_in_batch_order) {
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick());
  round.begin(slots.size());
  const auto groups = round.plan(&three, slot_of);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].master, 0u);
  EXPECT_EQ(groups[0].keys, (std::vector<std::uint32_t>{0, 3}));
  EXPECT_EQ(groups[1].master, 1u);
  EXPECT_EQ(groups[1].keys, (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(groups[2].master, 2u);
  EXPECT_FALSE(groups[0].asking);
  EXPECT_EQ(round.finish(backoff::clock::now()).next, step::done);
  EXPECT_EQ(round.rounds_retried(), 0u);
}

TEST(redirect_round, moved_refreshes_the_map_and_sends_the_key_home_again) {
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick());
  round.begin(slots.size());
  round.plan(&three, slot_of);
  round.redirect(1, parsed("MOVED 6000 127.0.0.1:7003"), "127.0.0.1");
  const auto outcome = round.finish(backoff::clock::now());
  EXPECT_EQ(outcome.next, step::again);
  EXPECT_TRUE(outcome.refresh_map);
  EXPECT_EQ(outcome.pending, 1u);
  EXPECT_LE(outcome.delay, 10ms);
  // The refreshed map gives slot 6000 to the third master: the key goes there, by the map.
  const auto moved = cluster({{7001, {0, 5460}}, {7002, {5461, 5999}}, {7003, {6000, 16383}}});
  const auto groups = round.plan(&moved, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].master, 2u);
  EXPECT_FALSE(groups[0].node.has_value());
  EXPECT_EQ(groups[0].keys, (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(round.finish(backoff::clock::now()).next, step::done);
  EXPECT_EQ(round.rounds_retried(), 1u);
}

TEST(redirect_round, a_reader_follows_moved_to_the_named_node) {
  redirect_round round(home_node::own_node, moved_policy::follow, quick());
  round.begin(3);
  auto groups = round.plan(nullptr, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_TRUE(groups[0].own_node());
  EXPECT_EQ(groups[0].keys.size(), 3u);
  // "MOVED 3999 :6381": the node is on the host the reply came from.
  round.redirect(2, parsed("MOVED 12000 :7003"), "10.0.0.5");
  auto outcome = round.finish(backoff::clock::now());
  EXPECT_EQ(outcome.next, step::again);
  EXPECT_FALSE(outcome.refresh_map);
  groups = round.plan(nullptr, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  ASSERT_TRUE(groups[0].node.has_value());
  EXPECT_EQ(groups[0].node->text(), "10.0.0.5:7003");
  EXPECT_FALSE(groups[0].asking);
  EXPECT_EQ(round.finish(backoff::clock::now()).next, step::done);
}

TEST(redirect_round, ask_goes_once_to_the_named_node_with_asking_then_home) {
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick());
  round.begin(slots.size());
  round.plan(&three, slot_of);
  round.redirect(0, parsed("ASK 100 [::1]:7009"), "127.0.0.1");
  round.redirect(3, parsed("ASK 200 [::1]:7009"), "127.0.0.1");
  auto outcome = round.finish(backoff::clock::now());
  EXPECT_EQ(outcome.next, step::again);
  EXPECT_FALSE(outcome.refresh_map);  // ASK does not change the map
  auto groups = round.plan(&three, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_TRUE(groups[0].asking);
  EXPECT_EQ(groups[0].node->text(), "[::1]:7009");
  EXPECT_EQ(groups[0].keys, (std::vector<std::uint32_t>{0, 3}));
  // The ASK target says "not now" for one key and takes the other; TRYAGAIN there keeps it
  // there, while a plain retry sends a key home.
  round.retry_same(0, groups[0]);
  outcome = round.finish(backoff::clock::now());
  EXPECT_EQ(outcome.next, step::again);
  groups = round.plan(&three, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_TRUE(groups[0].asking);
  round.retry(0);
  outcome = round.finish(backoff::clock::now());
  groups = round.plan(&three, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_FALSE(groups[0].asking);
  EXPECT_EQ(groups[0].master, 0u);
}

TEST(redirect_round, tryagain_retries_after_a_growing_delay) {
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick());
  round.begin(slots.size());
  std::chrono::milliseconds last{0};
  const auto t0 = backoff::clock::now();
  for (int attempt = 0; attempt < 4; ++attempt) {
    const auto groups = round.plan(&three, slot_of);
    ASSERT_FALSE(groups.empty());
    round.retry(groups.front().keys.front());
    const auto outcome = round.finish(t0 + std::chrono::milliseconds{attempt});
    ASSERT_EQ(outcome.next, step::again);
    EXPECT_EQ(outcome.pending, 1u);
    EXPECT_GE(outcome.delay, std::min(last, 100ms / 2));
    last = outcome.delay;
  }
  EXPECT_EQ(round.rounds_retried(), 4u);
}

TEST(redirect_round, a_slot_no_master_serves_waits_for_a_map_refresh) {
  // The node that owned slots 5461-10922 vanished from the map (a failover in progress).
  const auto gap = cluster({{7001, {0, 5460}}, {7003, {10923, 16383}}});
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick());
  round.begin(slots.size());
  const auto groups = round.plan(&gap, slot_of);
  ASSERT_EQ(groups.size(), 2u);
  auto outcome = round.finish(backoff::clock::now());
  EXPECT_EQ(outcome.next, step::again);
  EXPECT_TRUE(outcome.refresh_map);
  EXPECT_EQ(outcome.pending, 1u);
  const auto regrouped = round.plan(&three, slot_of);
  ASSERT_EQ(regrouped.size(), 1u);
  EXPECT_EQ(regrouped[0].master, 1u);
  EXPECT_EQ(round.finish(backoff::clock::now()).next, step::done);
}

TEST(redirect_round, gives_up_when_the_retry_time_is_spent) {
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick(1s));
  round.begin(2);
  const auto t0 = backoff::clock::now();
  round.plan(&three, slot_of);
  round.retry(0);
  round.retry(1);
  EXPECT_EQ(round.finish(t0).next, step::again);
  round.plan(&three, slot_of);
  round.retry(0);
  round.retry(1);
  const auto outcome = round.finish(t0 + 2s);
  EXPECT_EQ(outcome.next, step::give_up);
  EXPECT_EQ(outcome.pending, 2u);
}

TEST(redirect_round, begin_forgets_the_previous_batch_and_its_backoff) {
  redirect_round round(home_node::slot_owner, moved_policy::refresh_map, quick(1s));
  round.begin(1);
  round.plan(&three, slot_of);
  round.retry(0);
  round.finish(backoff::clock::now());
  round.begin(std::vector<std::uint32_t>{2});
  const auto groups = round.plan(&three, slot_of);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].keys, (std::vector<std::uint32_t>{2}));
  EXPECT_EQ(groups[0].master, 2u);
  EXPECT_EQ(round.finish(backoff::clock::now() + 5s).next, step::done);
}

}  // namespace
}  // namespace ferry::engine
