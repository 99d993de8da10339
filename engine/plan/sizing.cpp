#include "engine/plan/sizing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ferry::engine {
namespace {

constexpr double gb = 1e9;

double usable_bytes(const amr_sku& sku, double reserved_fraction) {
  return sku.memory_gb * gb * (1 - reserved_fraction);
}

bool fits_workload(const amr_sku& sku, const workload& load, const sizing_rules& rules,
                   std::string& reason) {
  if (sku.get_ops_per_sec &&
      static_cast<double>(*sku.get_ops_per_sec) < load.ops_per_sec * rules.throughput_margin) {
    reason = fmt::format(
        "{:.0f} ops/s needs a documented {:.0f} GET/s ({}x); {} is documented at "
        "{}",
        load.ops_per_sec, load.ops_per_sec * rules.throughput_margin, rules.throughput_margin,
        sku.name, *sku.get_ops_per_sec);
    return false;
  }
  if (sku.max_connections && static_cast<double>(*sku.max_connections) <
                                 static_cast<double>(load.clients) * rules.connection_margin) {
    reason = fmt::format("{} clients need room for {:.0f} connections; {} allows {}", load.clients,
                         static_cast<double>(load.clients) * rules.connection_margin, sku.name,
                         *sku.max_connections);
    return false;
  }
  return true;
}

}  // namespace

size_estimate estimate_size(std::uint64_t data_bytes, std::uint64_t target_baseline_bytes,
                            double headroom, double reserved_fraction) {
  size_estimate e;
  e.data_bytes = data_bytes;
  e.target_baseline_bytes = target_baseline_bytes;
  e.target_used_bytes = data_bytes + target_baseline_bytes;
  e.headroom = headroom;
  e.reserved_fraction = reserved_fraction;
  e.with_headroom_bytes =
      static_cast<std::uint64_t>(std::ceil(static_cast<double>(data_bytes) * (1 + headroom)));
  e.sku_bytes = static_cast<std::uint64_t>(
      std::ceil(static_cast<double>(e.with_headroom_bytes) / (1 - reserved_fraction)));
  return e;
}

sku_recommendation recommend_skus(const sku_table& table, std::uint64_t sku_bytes,
                                  const workload& load, const sizing_rules& rules) {
  sku_recommendation r;
  const double needed = static_cast<double>(sku_bytes) * (1 - table.reserved_fraction);
  for (const auto& tier : table.tiers) {
    tier_choice choice;
    choice.tier = tier.tier;
    choice.title = tier.title;
    std::string first_refusal;
    for (const auto& sku : tier.skus) {
      // Compared on usable bytes so that the rounding of sku_bytes cannot skip a size.
      if (usable_bytes(sku, table.reserved_fraction) + 0.5 < needed) continue;
      if (choice.memory_fit == nullptr) choice.memory_fit = &sku;
      std::string reason;
      if (fits_workload(sku, load, rules, reason)) {
        choice.chosen = &sku;
        break;
      }
      if (first_refusal.empty()) first_refusal = reason;
    }
    if (choice.memory_fit == nullptr) {
      choice.reason = fmt::format("no {} size holds {:.1f} GB", tier.title, sku_bytes / gb);
    } else if (choice.chosen == nullptr) {
      choice.reason = fmt::format("no size meets the workload: {}", first_refusal);
    } else if (choice.chosen != choice.memory_fit) {
      choice.reason = fmt::format("larger than {} for the workload: {}", choice.memory_fit->name,
                                  first_refusal);
    }
    r.tiers.push_back(std::move(choice));
  }
  // The cheapest fit: least memory, then fewest vCPUs; Flash Optimized only when it is the one
  // tier that fits (its values live partly on NVMe).
  for (std::size_t i = 0; i < r.tiers.size(); ++i) {
    const amr_sku* sku = r.tiers[i].chosen;
    if (sku == nullptr) continue;
    if (!r.recommended) {
      r.recommended = i;
      continue;
    }
    const amr_sku* best = r.tiers[*r.recommended].chosen;
    const bool flash = sku->tier == amr_tier::flash_optimized;
    const bool best_flash = best->tier == amr_tier::flash_optimized;
    if (flash != best_flash) {
      if (best_flash) r.recommended = i;
      continue;
    }
    if (sku->memory_gb < best->memory_gb ||
        (sku->memory_gb == best->memory_gb && sku->vcpus < best->vcpus)) {
      r.recommended = i;
    }
  }
  if (!r.recommended) {
    r.why = fmt::format("no Azure Managed Redis size holds {:.1f} GB with this workload",
                        sku_bytes / gb);
  } else {
    const amr_sku& sku = *r.tiers[*r.recommended].chosen;
    r.why = fmt::format(
        "{} ({} GB, {} vCPUs) is the smallest size that holds {:.2f} GB of SKU memory "
        "and serves {:.0f} ops/s from {} clients with ferry's margins",
        sku.name, sku.memory_gb, sku.vcpus, sku_bytes / gb, load.ops_per_sec, load.clients);
  }
  return r;
}

time_estimate estimate_time(const std::vector<master_load>& masters, double max_keys_per_sec,
                            double sync_share) {
  time_estimate t;
  std::uint64_t total_keys = 0;
  for (const auto& m : masters) total_keys += m.keys;
  bool all_known = !masters.empty();
  double slowest = 0;
  bool sync_known = !masters.empty();
  double margin = 0;
  bool first = true;
  for (const auto& m : masters) {
    t.writes_per_sec += m.writes_per_sec;
    if (m.dump_keys_per_sec <= 0) {
      t.master_seconds.push_back(std::nullopt);
      all_known = false;
      sync_known = false;
      continue;
    }
    double rate = m.dump_keys_per_sec;
    if (max_keys_per_sec > 0 && total_keys > 0) {
      // A global key limit is shared by the masters in proportion to their keys.
      const double share = static_cast<double>(m.keys) / static_cast<double>(total_keys);
      rate = std::min(rate, max_keys_per_sec * share);
    }
    const double seconds = rate > 0 ? static_cast<double>(m.keys) / rate : 0;
    t.master_seconds.push_back(seconds);
    slowest = std::max(slowest, seconds);
    const double spare = m.dump_keys_per_sec * sync_share;
    const double ratio = m.writes_per_sec > 0 ? spare / m.writes_per_sec : 1e12;
    margin = first ? ratio : std::min(margin, ratio);
    first = false;
  }
  if (all_known) t.copy_seconds = slowest;
  if (sync_known) {
    t.sync_margin = margin;
    t.sync_keeps_up = margin >= 1;
  }
  return t;
}

std::string human_duration(double seconds) {
  if (seconds < 10) return fmt::format("{:.1f} s", seconds);
  if (seconds < 120) return fmt::format("{:.0f} s", seconds);
  const auto minutes = static_cast<std::uint64_t>(std::llround(seconds / 60));
  if (minutes < 120) return fmt::format("{} min", minutes);
  return fmt::format("{} h {} min", minutes / 60, minutes % 60);
}

}  // namespace ferry::engine
