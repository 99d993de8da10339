#include "engine/plan/sku_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace ferry::engine {
namespace {

using nlohmann::json;

const json& member(const json& object, const char* name, const std::string& where) {
  const auto it = object.find(name);
  if (it == object.end()) throw std::runtime_error(fmt::format("{}: '{}' is missing", where, name));
  return *it;
}

std::optional<std::uint64_t> optional_count(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return it->get<std::uint64_t>();
}

amr_tier tier_from_key(const std::string& key, const std::string& where) {
  for (const auto tier : {amr_tier::memory_optimized, amr_tier::balanced,
                          amr_tier::compute_optimized, amr_tier::flash_optimized}) {
    if (tier_key(tier) == key) return tier;
  }
  throw std::runtime_error(fmt::format("{}: unknown tier '{}'", where, key));
}

sku_table parse(std::string_view text) {
  const json root = json::parse(text);
  sku_table table;
  table.reserved_fraction = member(root, "reserved_memory_fraction", "the table").get<double>();
  if (!(table.reserved_fraction >= 0 && table.reserved_fraction < 1)) {
    throw std::runtime_error("reserved_memory_fraction must be at least 0 and less than 1");
  }
  for (const json& source : root.value("sources", json::array())) {
    table.sources.push_back(source.value("url", std::string{}));
  }
  for (const json& t : member(root, "tiers", "the table")) {
    amr_tier_info tier;
    const std::string key = member(t, "tier", "a tier").get<std::string>();
    tier.tier = tier_from_key(key, "a tier");
    tier.title = t.value("title", key);
    if (const auto ratio = t.find("memory_per_vcpu"); ratio != t.end() && ratio->is_string()) {
      tier.memory_per_vcpu = ratio->get<std::string>();
    }
    tier.note = t.value("note", std::string{});
    for (const json& s : member(t, "skus", "tier " + key)) {
      amr_sku sku;
      sku.tier = tier.tier;
      sku.name = member(s, "name", "a SKU of " + key).get<std::string>();
      const std::string where = "SKU " + sku.name;
      sku.arm_name = s.value("arm_name", sku.name);
      sku.memory_gb = member(s, "memory_gb", where).get<double>();
      if (!(sku.memory_gb > 0)) throw std::runtime_error(where + ": memory_gb must be positive");
      sku.vcpus = member(s, "vcpus", where).get<unsigned>();
      sku.primary_shards = s.value("primary_shards", 0u);
      sku.max_connections = optional_count(s, "max_connections");
      sku.get_ops_per_sec = optional_count(s, "get_ops_per_sec");
      sku.preview = s.value("preview", false);
      tier.skus.push_back(std::move(sku));
    }
    std::stable_sort(tier.skus.begin(), tier.skus.end(),
                     [](const amr_sku& a, const amr_sku& b) { return a.memory_gb < b.memory_gb; });
    table.tiers.push_back(std::move(tier));
  }
  return table;
}

}  // namespace

std::string_view tier_key(amr_tier tier) noexcept {
  switch (tier) {
    case amr_tier::memory_optimized:
      return "memory_optimized";
    case amr_tier::balanced:
      return "balanced";
    case amr_tier::compute_optimized:
      return "compute_optimized";
    case amr_tier::flash_optimized:
      return "flash_optimized";
  }
  return "unknown";
}

const amr_tier_info* sku_table::find(amr_tier tier) const noexcept {
  for (const auto& t : tiers) {
    if (t.tier == tier) return &t;
  }
  return nullptr;
}

boost::system::result<sku_table, std::string> parse_sku_table(std::string_view json_text) {
  try {
    return parse(json_text);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

const sku_table& builtin_sku_table() {
  // The compiled-in file is checked by a unit test; a broken one is a build mistake.
  static const sku_table table = [] {
    auto parsed = parse_sku_table(builtin_sku_json());
    if (!parsed) throw std::logic_error("the built-in SKU table is invalid: " + parsed.error());
    return std::move(*parsed);
  }();
  return table;
}

}  // namespace ferry::engine
