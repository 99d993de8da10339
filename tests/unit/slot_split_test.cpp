// The split of one migration into N parts (--shard-index/--shard-count): whole masters per part
// when there are at least N, pieces of masters otherwise; always disjoint, covering, balanced,
// and the same for every process that computes it.

#include "engine/copy/slot_split.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace ferry::engine {
namespace {

using protocol::slot_range;
using protocol::slots_of;

/// Masters owning these contiguous ranges.
std::vector<slot_set> masters_of(const std::vector<slot_range>& ranges) {
  std::vector<slot_set> out;
  for (const auto& r : ranges) out.push_back(slots_of({r}));
  return out;
}

/// `n` masters splitting the slot space evenly, as redis-cli --cluster create does.
std::vector<slot_set> even_masters(std::uint32_t n) {
  std::vector<slot_range> ranges;
  for (std::uint32_t i = 0; i < n; ++i) {
    ranges.push_back({static_cast<std::uint16_t>(i * 16384 / n),
                      static_cast<std::uint16_t>((i + 1) * 16384 / n - 1)});
  }
  return masters_of(ranges);
}

/// Every slot of `all` in exactly one part.
void expect_disjoint_cover(const std::vector<split_share>& parts, const slot_set& all) {
  slot_set seen;
  for (const auto& part : parts) {
    EXPECT_TRUE((seen & part.slots).none()) << "parts overlap";
    seen |= part.slots;
  }
  EXPECT_EQ(seen, all);
}

slot_set union_of(const std::vector<slot_set>& masters) {
  slot_set all;
  for (const auto& m : masters) all |= m;
  return all;
}

TEST(slot_split, three_masters_in_three_parts_is_a_master_each) {
  const auto masters = even_masters(3);
  const auto parts = split_slots(masters, 3);
  ASSERT_EQ(parts.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parts[i].slots, masters[i]) << i;
    EXPECT_EQ(parts[i].masters, std::vector<std::size_t>{i});
    EXPECT_TRUE(parts[i].whole_masters);
  }
}

TEST(slot_split, six_masters_in_three_parts_are_two_whole_masters_each) {
  const auto masters = even_masters(6);
  const auto parts = split_slots(masters, 3);
  expect_disjoint_cover(parts, union_of(masters));
  for (const auto& part : parts) {
    EXPECT_EQ(part.masters.size(), 2u);
    EXPECT_TRUE(part.whole_masters);
    EXPECT_NEAR(static_cast<double>(part.slots.count()), 16384.0 / 3, 2);
  }
}

TEST(slot_split, uneven_masters_go_largest_first_to_the_smallest_part) {
  // 8000, 4000, 2384, 2000 slots into 2 parts: 8000 | 4000, then 2384 and 2000 to the second.
  const auto masters = masters_of({{0, 7999}, {8000, 11999}, {12000, 14383}, {14384, 16383}});
  const auto parts = split_slots(masters, 2);
  expect_disjoint_cover(parts, union_of(masters));
  EXPECT_EQ(parts[0].masters, std::vector<std::size_t>{0});
  EXPECT_EQ(parts[1].masters, (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(parts[0].slots.count(), 8000u);
  EXPECT_EQ(parts[1].slots.count(), 8384u);
}

TEST(slot_split, a_standalone_source_is_cut_into_equal_slot_ranges) {
  const std::vector<slot_set> one{slot_set{}.set()};
  const auto parts = split_slots(one, 4);
  ASSERT_EQ(parts.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    const auto start = static_cast<std::uint16_t>(i * 4096);
    EXPECT_EQ(parts[i].slots, slots_of({{start, static_cast<std::uint16_t>(start + 4095)}})) << i;
    EXPECT_EQ(parts[i].masters, std::vector<std::size_t>{0});
    EXPECT_FALSE(parts[i].whole_masters);
  }
}

TEST(slot_split, fewer_masters_than_parts_gives_each_master_its_share_of_parts) {
  // 12288 and 4096 slots into 4 parts: 3 pieces of the first, 1 (the whole) of the second.
  const auto masters = masters_of({{0, 12287}, {12288, 16383}});
  const auto parts = split_slots(masters, 4);
  ASSERT_EQ(parts.size(), 4u);
  expect_disjoint_cover(parts, union_of(masters));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(parts[i].masters, std::vector<std::size_t>{0});
    EXPECT_EQ(parts[i].slots.count(), 4096u);
    EXPECT_FALSE(parts[i].whole_masters);
  }
  EXPECT_EQ(parts[3].masters, std::vector<std::size_t>{1});
  EXPECT_TRUE(parts[3].whole_masters);
}

TEST(slot_split, a_slot_range_restricts_what_is_split_and_empty_masters_are_skipped) {
  // --slots 5000-6000 on three even masters: only the first two hold any of it.
  const slot_set wanted = slots_of({{5000, 6000}});
  std::vector<slot_set> masters = even_masters(3);
  for (auto& m : masters) m &= wanted;
  const auto parts = split_slots(masters, 2);
  expect_disjoint_cover(parts, wanted);
  EXPECT_EQ(parts[0].masters, std::vector<std::size_t>{0});  // 5000-5460: 461 slots
  EXPECT_EQ(parts[1].masters, std::vector<std::size_t>{1});  // 5461-6000: 540 slots
}

TEST(slot_split, more_parts_than_slots_leaves_some_parts_empty) {
  const auto masters = masters_of({{7, 8}});
  const auto parts = split_slots(masters, 4);
  ASSERT_EQ(parts.size(), 4u);
  expect_disjoint_cover(parts, masters[0]);
  std::size_t empty = 0;
  for (const auto& p : parts) empty += p.slots.none();
  EXPECT_EQ(empty, 2u);
  const auto none = split_slots({}, 3);
  ASSERT_EQ(none.size(), 3u);
  for (const auto& p : none) EXPECT_TRUE(p.slots.none());
}

TEST(slot_split, one_part_is_everything) {
  const auto masters = even_masters(5);
  const auto parts = split_slots(masters, 1);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].slots, union_of(masters));
  EXPECT_EQ(parts[0].masters.size(), 5u);
}

TEST(slot_split, every_combination_is_disjoint_covering_balanced_and_repeatable) {
  for (std::uint32_t m = 1; m <= 9; ++m) {
    const auto masters = even_masters(m);
    for (std::uint32_t n = 1; n <= 12; ++n) {
      SCOPED_TRACE(::testing::Message() << m << " masters, " << n << " parts");
      const auto parts = split_slots(masters, n);
      ASSERT_EQ(parts.size(), n);
      expect_disjoint_cover(parts, union_of(masters));
      EXPECT_EQ(split_slots(masters, n).front().slots, parts.front().slots);  // same every time
      std::size_t largest = 0;
      for (const auto& p : parts) {
        EXPECT_FALSE(p.slots.none());
        largest = std::max(largest, p.slots.count());
        if (m >= n) {
          EXPECT_TRUE(p.whole_masters);
        }
        if (m < n) {
          EXPECT_EQ(p.masters.size(), 1u) << "each process scans one master";
        }
      }
      // Whole masters of equal size: the largest part holds ceil(m / n) of them. Pieces: no
      // part is more than a master's share of the slots per piece above the ideal.
      const double ideal = 16384.0 / n;
      const double master = 16384.0 / m;
      if (m >= n) {
        EXPECT_LE(static_cast<double>(largest), ((m + n - 1) / n) * (master + 1));
      } else {
        EXPECT_LE(static_cast<double>(largest), 2 * ideal + 1);
      }
    }
  }
}

TEST(slot_split, part_text_is_index_slash_count) { EXPECT_EQ((slot_part{1, 3}.text()), "1/3"); }

}  // namespace
}  // namespace ferry::engine
