#pragma once
// The plan's arithmetic: how much memory the data needs on the target, which Azure Managed Redis
// SKU of each tier holds it, how long a copy takes at the source's measured DUMP rate, and
// whether `ferry sync` keeps up with the source's writes. Pure: every input is a measured figure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/plan/sku_table.hpp"

namespace ferry::engine {

/// What the data needs.
struct size_estimate {
  /// Bytes the data occupies on the source (movable_bytes summed over masters).
  std::uint64_t data_bytes = 0;
  /// The target's own memory when empty (its used_memory_startup, summed over masters; the
  /// source's when no target was given).
  std::uint64_t target_baseline_bytes = 0;
  /// What the target's used_memory should read after a copy: data + baseline.
  std::uint64_t target_used_bytes = 0;
  /// The data with the growth headroom: what must fit in a SKU's usable memory.
  std::uint64_t with_headroom_bytes = 0;
  /// The SKU size needed: with_headroom_bytes / (1 - reserved fraction).
  std::uint64_t sku_bytes = 0;
  /// The growth headroom used (0.1 = 10 %).
  double headroom = 0;
  /// The reserved fraction used (0.2).
  double reserved_fraction = 0;
};

/// Computes the estimate from the source's data bytes, the target's baseline, the headroom for
/// growth and the reserved fraction of a SKU's memory.
size_estimate estimate_size(std::uint64_t data_bytes, std::uint64_t target_baseline_bytes,
                            double headroom, double reserved_fraction);

/// What the workload asks of a SKU besides memory.
struct workload {
  /// Commands per second the application sends (the highest rate measured).
  double ops_per_sec = 0;
  /// Client connections the application holds (connected clients, less ferry's own).
  std::uint64_t clients = 0;
};

/// ferry's margins over the documented figures.
struct sizing_rules {
  /// The documented GET rate must be this many times the measured ops/s: the documented figures
  /// are 1 KB GETs, pipelined, with the best connection count, and most workloads are not.
  double throughput_margin = 2.0;
  /// The SKU's connection limit must be this many times the measured clients.
  double connection_margin = 1.5;
};

/// The pick in one tier.
struct tier_choice {
  /// The tier.
  amr_tier tier = amr_tier::balanced;
  /// Its title ("Balanced").
  std::string title;
  /// The smallest SKU whose usable memory holds the data with headroom; null when none does.
  const amr_sku* memory_fit = nullptr;
  /// The smallest SKU that also meets the throughput and connection rules; null when none does.
  const amr_sku* chosen = nullptr;
  /// Why `chosen` is larger than `memory_fit`, or why there is none.
  std::string reason;
};

/// The picks of every tier and the tier recommended.
struct sku_recommendation {
  /// One per tier of the table, in its order.
  std::vector<tier_choice> tiers;
  /// Index into `tiers` of the recommended one: the smallest chosen SKU, then the fewest vCPUs
  /// (in-memory tiers first); nothing when no tier fits.
  std::optional<std::size_t> recommended;
  /// One line saying why.
  std::string why;
};

/// Chooses per tier (see the members) for data needing `sku_bytes` of SKU memory.
sku_recommendation recommend_skus(const sku_table& table, std::uint64_t sku_bytes,
                                  const workload& load, const sizing_rules& rules = {});

/// One source master's share of a copy.
struct master_load {
  /// "host:port".
  std::string address;
  /// Keys to copy from it.
  std::uint64_t keys = 0;
  /// Bytes of data on it.
  std::uint64_t bytes = 0;
  /// Its measured DUMP + expiry rate (keys/s); 0 when not measured.
  double dump_keys_per_sec = 0;
  /// Writes per second the application sends it.
  double writes_per_sec = 0;
};

/// How long the copy takes and whether sync keeps up.
struct time_estimate {
  /// Seconds per master, in the order given; nothing where its rate is unknown.
  std::vector<std::optional<double>> master_seconds;
  /// The slowest master's time (masters are copied in parallel); nothing if any is unknown.
  std::optional<double> copy_seconds;
  /// Writes per second over all masters.
  double writes_per_sec = 0;
  /// Rate at which sync could re-copy changed keys on every master: the lowest per-master
  /// ratio of spare DUMP rate (after `sync_share`) to that master's writes; nothing when unknown.
  std::optional<double> sync_margin;
  /// True when every master's writes stay under `sync_share` of its DUMP rate.
  std::optional<bool> sync_keeps_up;
};

/// Copy time at the measured rates (capped by `max_keys_per_sec` over all masters when it is set),
/// and the sync check: each write costs one re-copy of its key, and sync may use `sync_share` of
/// a master's DUMP rate so that the application keeps the rest.
time_estimate estimate_time(const std::vector<master_load>& masters, double max_keys_per_sec = 0,
                            double sync_share = 0.5);

/// "2 h 5 min", "40 s", "0.3 s".
std::string human_duration(double seconds);

}  // namespace ferry::engine
