// The dirty set stepped through events, re-copies and their settling (engine/sync/dirty_set.hpp):
// coalescing, one re-copy in flight per key, the hold of hot keys, the byte bound, and lag.

#include <gtest/gtest.h>

#include "engine/sync/dirty_set.hpp"

namespace ferry::engine {
namespace {

using namespace std::chrono_literals;
using clock = dirty_set::clock;
using marked = dirty_set::marked;

std::vector<std::string> take(dirty_set& set, std::size_t max, clock::time_point now) {
  std::vector<std::string> out;
  set.take(max, now, out);
  return out;
}

TEST(dirty_set, coalesces_the_events_of_a_waiting_key_into_one_recopy_oldest_first) {
  dirty_set set(1 << 20, 50ms);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_EQ(set.mark("a", t0), marked::added);
  EXPECT_EQ(set.mark("b", t0 + 1ms), marked::added);
  EXPECT_EQ(set.mark("a", t0 + 2ms), marked::coalesced);
  EXPECT_EQ(set.keys(), 2u);
  EXPECT_EQ(set.pending_events(), 3u);
  EXPECT_EQ(take(set, 10, t0 + 3ms), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(set.in_flight(), 2u);
  EXPECT_EQ(set.waiting(), 0u);
  // The lag runs from the oldest event the re-copy covered.
  const auto a = set.settle("a", t0 + 10ms);
  EXPECT_EQ(a.events, 2u);
  EXPECT_EQ(a.lag, 10ms);
  EXPECT_EQ(set.settle("b", t0 + 10ms).lag, 9ms);
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.bytes(), 0u);
  EXPECT_EQ(set.pending_events(), 0u);
}

TEST(dirty_set, an_event_during_the_recopy_makes_one_more_after_it_never_two_at_once) {
  dirty_set set(1 << 20, 0ms);
  const auto t0 = clock::time_point{} + 1h;
  set.mark("k", t0);
  ASSERT_EQ(take(set, 10, t0).size(), 1u);
  // Changed while its re-copy is in flight: the read may have come before the change.
  EXPECT_EQ(set.mark("k", t0 + 1ms), marked::coalesced);
  EXPECT_EQ(set.mark("k", t0 + 2ms), marked::coalesced);
  EXPECT_TRUE(take(set, 10, t0 + 3ms).empty()) << "one re-copy of a key in flight at a time";
  EXPECT_EQ(set.settle("k", t0 + 4ms).events, 1u);
  EXPECT_FALSE(set.empty());
  EXPECT_EQ(take(set, 10, t0 + 4ms), (std::vector<std::string>{"k"}));
  const auto second = set.settle("k", t0 + 9ms);
  EXPECT_EQ(second.events, 2u);
  EXPECT_EQ(second.lag, 8ms);  // from the first event it covered
  EXPECT_TRUE(set.empty());
}

TEST(dirty_set, a_key_written_ten_thousand_times_a_second_is_recopied_at_the_hold_rate) {
  const auto hold = 50ms;
  dirty_set set(1 << 20, hold);
  const auto t0 = clock::time_point{} + 1h;
  std::uint64_t recopies = 0, covered = 0;
  std::vector<std::string> taken;
  // One simulated second: an event every 100 us, a re-copy taking 1 ms, a reader that looks
  // every 100 us.
  clock::time_point in_flight_until{};
  bool in_flight = false;
  for (int step = 0; step < 10'000; ++step) {
    const auto now = t0 + step * 100us;
    set.mark("hot", now);
    if (in_flight && now >= in_flight_until) {
      covered += set.settle("hot", now).events;
      in_flight = false;
    }
    if (!in_flight) {
      taken.clear();
      set.take(1, now, taken);
      if (!taken.empty()) {
        ++recopies;
        in_flight = true;
        in_flight_until = now + 1ms;
      }
    }
  }
  EXPECT_LE(recopies, 1s / hold + 1);
  EXPECT_GE(recopies, 1s / hold - 1);
  // Every event is covered by a re-copy, or waits for the next one.
  EXPECT_EQ(covered + set.pending_events(), 10'000u);
  EXPECT_LE(set.pending_events(), 1s / 100us * hold / 1s + 1);
  EXPECT_EQ(set.keys(), 1u);
}

TEST(dirty_set, refuses_a_new_key_when_full_but_never_an_event_of_a_key_it_holds) {
  const std::size_t room = 2 * (1 + dirty_set::entry_overhead);
  dirty_set set(room, 0ms);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_EQ(set.mark("a", t0), marked::added);
  EXPECT_EQ(set.mark("b", t0), marked::added);
  EXPECT_FALSE(set.has_room("c"));
  EXPECT_TRUE(set.has_room("a"));
  EXPECT_EQ(set.mark("c", t0), marked::overflow);
  EXPECT_EQ(set.mark("a", t0), marked::coalesced);
  take(set, 1, t0);
  EXPECT_EQ(set.mark("a", t0), marked::coalesced);  // in flight, dirtied again: still held
  EXPECT_EQ(set.keys(), 2u);
  EXPECT_LE(set.bytes(), set.max_bytes());
  set.settle("a", t0);
  set.settle("a", t0);  // a second settle of a key not in flight changes nothing
  EXPECT_EQ(take(set, 10, t0).size(), 2u);
  set.settle("a", t0);
  set.settle("b", t0);
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.mark("c", t0), marked::added);
}

TEST(dirty_set, holds_a_hot_key_until_its_time_and_says_when) {
  dirty_set set(1 << 20, 100ms);
  const auto t0 = clock::time_point{} + 1h;
  set.mark("k", t0);
  take(set, 1, t0);
  set.mark("k", t0 + 1ms);
  set.settle("k", t0 + 2ms);
  EXPECT_FALSE(set.ready(t0 + 50ms));
  EXPECT_EQ(set.next_ready(), t0 + 100ms);
  EXPECT_TRUE(take(set, 1, t0 + 99ms).empty());
  EXPECT_TRUE(set.ready(t0 + 100ms));
  EXPECT_EQ(take(set, 1, t0 + 100ms), (std::vector<std::string>{"k"}));
  EXPECT_EQ(set.next_ready(), clock::time_point::max());
}

TEST(dirty_set, drops_waiting_keys_of_slots_given_away_but_not_those_in_flight) {
  dirty_set set(1 << 20, 0ms);
  const auto t0 = clock::time_point{} + 1h;
  for (const char* k : {"a1", "b1", "a2", "b2"}) set.mark(k, t0);
  take(set, 1, t0);  // a1 in flight
  const auto dropped = set.drop_waiting([](std::string_view k) { return k[0] == 'a'; });
  EXPECT_EQ(dropped, 1u);  // a2
  EXPECT_EQ(set.keys(), 3u);
  EXPECT_EQ(take(set, 10, t0), (std::vector<std::string>{"b1", "b2"}));
  set.settle("a1", t0);
  set.settle("b1", t0);
  set.settle("b2", t0);
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.pending_events(), 0u);
}

}  // namespace
}  // namespace ferry::engine
