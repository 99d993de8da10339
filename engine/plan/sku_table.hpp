#pragma once
// Azure Managed Redis SKUs as data: tiers, sizes, vCPUs, shards, connection limits and the
// documented throughput, read from azure_managed_redis_skus.json (which cites the public pages
// its figures come from). The file is compiled into ferry; `--sku-table FILE` reads a newer one.
// Pure.

#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::engine {

/// The four tiers of Azure Managed Redis.
enum class amr_tier : std::uint8_t {
  memory_optimized,   ///< M*: 8 GB of memory per vCPU
  balanced,           ///< B*: 4 GB per vCPU
  compute_optimized,  ///< X*: 2 GB per vCPU
  flash_optimized,    ///< A*: RAM and NVMe
};

/// "memory_optimized", ... as in the JSON file.
std::string_view tier_key(amr_tier tier) noexcept;

/// One size of one tier.
struct amr_sku {
  /// Its tier.
  amr_tier tier = amr_tier::balanced;
  /// Short name: "M10", "B0", "X700", "A250".
  std::string name;
  /// Name in the ARM API: "MemoryOptimized_M10".
  std::string arm_name;
  /// Size the documentation lists, in GB (10^9 bytes); about 20 % of it is reserved.
  double memory_gb = 0;
  /// vCPUs the documentation lists.
  unsigned vcpus = 0;
  /// Primary shards the documentation lists.
  unsigned primary_shards = 0;
  /// Most client connections; nothing where the documentation gives no figure.
  std::optional<std::uint64_t> max_connections;
  /// Documented GET requests per second (1 KB values, pipelined); nothing where not published.
  std::optional<std::uint64_t> get_ops_per_sec;
  /// In public preview.
  bool preview = false;
};

/// One tier and its sizes, smallest first.
struct amr_tier_info {
  /// Which tier.
  amr_tier tier = amr_tier::balanced;
  /// "Memory Optimized".
  std::string title;
  /// "8:1"; empty for Flash Optimized.
  std::string memory_per_vcpu;
  /// What the documentation says the tier is for.
  std::string note;
  /// Sizes, smallest first.
  std::vector<amr_sku> skus;
};

/// The whole table.
struct sku_table {
  /// Share of each SKU's memory reserved for non-cache work (0.2).
  double reserved_fraction = 0.2;
  /// Tiers in the file's order.
  std::vector<amr_tier_info> tiers;
  /// URLs of the pages the figures come from.
  std::vector<std::string> sources;

  /// The tier, or null when the table has none of it.
  const amr_tier_info* find(amr_tier tier) const noexcept;
};

/// Parses the JSON form (see azure_managed_redis_skus.json); the error names the field at fault.
boost::system::result<sku_table, std::string> parse_sku_table(std::string_view json_text);

/// The table compiled into ferry.
const sku_table& builtin_sku_table();

/// The JSON text compiled into ferry (generated from azure_managed_redis_skus.json).
std::string_view builtin_sku_json() noexcept;

}  // namespace ferry::engine
