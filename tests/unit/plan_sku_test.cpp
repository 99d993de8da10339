// The SKU table and the choice of a size per tier (engine/plan/sku_table, sizing).

#include <gtest/gtest.h>

#include "engine/plan/sizing.hpp"
#include "engine/plan/sku_table.hpp"

namespace ferry::engine {
namespace {

constexpr double gb = 1e9;

const tier_choice& tier_of(const sku_recommendation& r, amr_tier tier) {
  for (const auto& t : r.tiers) {
    if (t.tier == tier) return t;
  }
  throw std::logic_error("tier missing");
}

std::string chosen(const sku_recommendation& r, amr_tier tier) {
  const tier_choice& t = tier_of(r, tier);
  return t.chosen ? t.chosen->name : "-";
}

TEST(sku_table, the_built_in_table_parses_and_lists_every_documented_size) {
  const sku_table& table = builtin_sku_table();
  EXPECT_DOUBLE_EQ(table.reserved_fraction, 0.2);
  ASSERT_EQ(table.tiers.size(), 4u);
  const std::pair<amr_tier, std::size_t> sizes[] = {{amr_tier::memory_optimized, 12},
                                                    {amr_tier::balanced, 14},
                                                    {amr_tier::compute_optimized, 11},
                                                    {amr_tier::flash_optimized, 7}};
  for (const auto& [tier, count] : sizes) {
    const amr_tier_info* info = table.find(tier);
    ASSERT_NE(info, nullptr) << tier_key(tier);
    EXPECT_EQ(info->skus.size(), count) << tier_key(tier);
    for (std::size_t i = 1; i < info->skus.size(); ++i) {
      EXPECT_LT(info->skus[i - 1].memory_gb, info->skus[i].memory_gb) << info->skus[i].name;
    }
  }
  const amr_sku& m10 = table.find(amr_tier::memory_optimized)->skus.front();
  EXPECT_EQ(m10.name, "M10");
  EXPECT_EQ(m10.arm_name, "MemoryOptimized_M10");
  EXPECT_EQ(m10.memory_gb, 12);
  EXPECT_EQ(m10.vcpus, 2u);
  EXPECT_EQ(m10.max_connections, 15'000u);
  EXPECT_EQ(m10.get_ops_per_sec, 230'000u);
  const amr_sku& b0 = table.find(amr_tier::balanced)->skus.front();
  EXPECT_EQ(b0.name, "B0");
  EXPECT_DOUBLE_EQ(b0.memory_gb, 0.5);
  EXPECT_FALSE(table.sources.empty());
}

TEST(sku_table, a_broken_table_is_refused_with_the_field_named) {
  EXPECT_FALSE(parse_sku_table("not json"));
  auto missing = parse_sku_table(R"({"reserved_memory_fraction": 0.2,
      "tiers": [{"tier": "balanced", "skus": [{"name": "B0", "vcpus": 2}]}]})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("memory_gb"), std::string::npos) << missing.error();
  auto tier = parse_sku_table(R"({"reserved_memory_fraction": 0.2, "tiers": [{"tier": "gold",
      "skus": []}]})");
  ASSERT_FALSE(tier);
  EXPECT_NE(tier.error().find("gold"), std::string::npos);
  EXPECT_FALSE(parse_sku_table(R"({"reserved_memory_fraction": 1, "tiers": []})"));
}

// The migration guide: "Enterprise 8GB (2 x 4GB) ... should start with at least 10GB cache on
// Azure Managed Redis. In this case, use the M10/B10/X10 option, which offers 12GB memory."
TEST(recommend_skus, the_migration_guides_example_8_gb_needs_10_gb_m10_b10_x10) {
  const sku_table& table = builtin_sku_table();
  const size_estimate size = estimate_size(8'000'000'000, 0, 0.0, table.reserved_fraction);
  EXPECT_EQ(size.sku_bytes, 10'000'000'000u);  // at least 10 GB: 20 % of a cache is reserved
  const sku_recommendation r = recommend_skus(table, size.sku_bytes, {});
  EXPECT_EQ(chosen(r, amr_tier::memory_optimized), "M10");
  EXPECT_EQ(chosen(r, amr_tier::balanced), "B10");
  EXPECT_EQ(chosen(r, amr_tier::compute_optimized), "X10");
  EXPECT_EQ(tier_of(r, amr_tier::memory_optimized).chosen->memory_gb, 12);
  // Idle: the fewest vCPUs of the 12 GB sizes.
  ASSERT_TRUE(r.recommended);
  EXPECT_EQ(r.tiers[*r.recommended].tier, amr_tier::memory_optimized);
  // The default 10 % headroom still fits in 12 GB (8.8 GB of data in 9.6 GB usable).
  const size_estimate with_headroom = estimate_size(8'000'000'000, 0, 0.1, 0.2);
  EXPECT_EQ(recommend_skus(table, with_headroom.sku_bytes, {}).tiers.front().chosen->name, "M10");
}

TEST(recommend_skus, the_next_size_when_the_usable_memory_is_one_byte_short) {
  const sku_table& table = builtin_sku_table();
  // 12 GB x 0.8 = 9.6 GB usable: 9.6 GB fits M10, a little more needs M20.
  const auto fits = recommend_skus(table, estimate_size(9'600'000'000, 0, 0, 0.2).sku_bytes, {});
  EXPECT_EQ(chosen(fits, amr_tier::memory_optimized), "M10");
  const auto over = recommend_skus(table, estimate_size(9'600'001'000, 0, 0, 0.2).sku_bytes, {});
  EXPECT_EQ(chosen(over, amr_tier::memory_optimized), "M20");
  EXPECT_EQ(chosen(over, amr_tier::balanced), "B20");
}

TEST(recommend_skus, small_data_gets_the_smallest_balanced_size) {
  const auto r = recommend_skus(builtin_sku_table(), 50'000'000, {});
  EXPECT_EQ(chosen(r, amr_tier::balanced), "B0");
  EXPECT_EQ(chosen(r, amr_tier::memory_optimized), "M10");  // its smallest
  EXPECT_EQ(chosen(r, amr_tier::compute_optimized), "X3");
  ASSERT_TRUE(r.recommended);
  EXPECT_EQ(r.tiers[*r.recommended].chosen->name, "B0");
}

TEST(recommend_skus, throughput_moves_up_within_a_tier_and_toward_compute) {
  const sku_table& table = builtin_sku_table();
  // 8 GB at 200,000 ops/s: with the 2x margin M10 (230k) and M20 (480k -> fits) ...
  workload load{200'000, 100};
  const auto r = recommend_skus(table, 10'000'000'000, load);
  const tier_choice& m = tier_of(r, amr_tier::memory_optimized);
  EXPECT_EQ(m.memory_fit->name, "M10");
  EXPECT_EQ(m.chosen->name, "M20");
  EXPECT_NE(m.reason.find("M10"), std::string::npos) << m.reason;
  EXPECT_EQ(chosen(r, amr_tier::balanced), "B10");  // 480k documented
  EXPECT_EQ(chosen(r, amr_tier::compute_optimized), "X10");
  // B10 and X10 hold it in 12 GB; B10 has fewer vCPUs.
  ASSERT_TRUE(r.recommended);
  EXPECT_EQ(r.tiers[*r.recommended].chosen->name, "B10");
}

TEST(recommend_skus, connections_count_too) {
  const auto r = recommend_skus(builtin_sku_table(), 10'000'000'000, {0, 20'000});
  // 20,000 clients x 1.5 = 30,000: M10 allows 15,000, M20 30,000.
  EXPECT_EQ(chosen(r, amr_tier::memory_optimized), "M20");
  EXPECT_EQ(chosen(r, amr_tier::balanced), "B10");
}

TEST(recommend_skus, no_size_beyond_the_largest_and_flash_only_when_alone) {
  const sku_table& table = builtin_sku_table();
  // 3 TB of SKU memory: only Flash Optimized A4500 holds it.
  const auto huge = recommend_skus(table, 3'000'000'000'000, {});
  EXPECT_EQ(chosen(huge, amr_tier::memory_optimized), "-");
  EXPECT_NE(tier_of(huge, amr_tier::memory_optimized).reason.find("no Memory Optimized size"),
            std::string::npos);
  EXPECT_EQ(chosen(huge, amr_tier::flash_optimized), "A4500");
  ASSERT_TRUE(huge.recommended);
  EXPECT_EQ(huge.tiers[*huge.recommended].tier, amr_tier::flash_optimized);
  // 200 GB: in-memory sizes exist, so Flash is not recommended although A250 is the cheapest.
  const auto big = recommend_skus(table, 200'000'000'000, {});
  ASSERT_TRUE(big.recommended);
  EXPECT_NE(big.tiers[*big.recommended].tier, amr_tier::flash_optimized);
  EXPECT_EQ(big.tiers[*big.recommended].chosen->name, "M250");
  // Beyond every size.
  const auto none = recommend_skus(table, 10'000'000'000'000, {});
  EXPECT_FALSE(none.recommended);
  EXPECT_NE(none.why.find("no Azure Managed Redis size"), std::string::npos);
}

}  // namespace
}  // namespace ferry::engine
