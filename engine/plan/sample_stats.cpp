#include "engine/plan/sample_stats.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::engine {
namespace {

// Upper bounds of the size buckets: 64 B, 256 B, 1 KiB, ... 64 MiB (powers of four).
constexpr std::array<std::uint64_t, 11> size_bounds = {
    64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20};

constexpr std::int64_t minute_ms = 60'000;
constexpr std::array<std::int64_t, 5> ttl_bounds = {minute_ms, 60 * minute_ms, 1440 * minute_ms,
                                                    7 * 1440 * minute_ms, 30 * 1440 * minute_ms};

std::size_t size_bucket(std::uint64_t bytes) {
  for (std::size_t i = 0; i < size_bounds.size(); ++i) {
    if (bytes <= size_bounds[i]) return i;
  }
  return size_bounds.size();
}

std::size_t ttl_bucket(std::int64_t ttl_ms) {
  if (ttl_ms < 0) return 0;
  for (std::size_t i = 0; i < ttl_bounds.size(); ++i) {
    if (ttl_ms < ttl_bounds[i]) return i + 1;
  }
  return ttl_bounds.size() + 1;
}

bool larger(const sampled_key& a, const sampled_key& b) {
  return a.bytes != b.bytes ? a.bytes > b.bytes : a.key < b.key;
}

}  // namespace

bool binary_name(std::string_view key) noexcept {
  return std::any_of(key.begin(), key.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u > 0x7e;
  });
}

bool has_hash_tag(std::string_view key) noexcept {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return false;
  const auto close = key.find('}', open + 1);
  return close != std::string_view::npos && close > open + 1;
}

std::uint64_t allocation_size(std::uint64_t bytes) noexcept {
  if (bytes <= 8) return 8;
  if (bytes <= 128) return (bytes + 15) / 16 * 16;
  std::uint64_t power = 128;
  while (power * 2 < bytes) power *= 2;
  const std::uint64_t step = power / 4;
  return (bytes + step - 1) / step * step;
}

std::uint64_t stream_slack(std::uint64_t dump_bytes, std::uint64_t entries,
                           std::uint64_t node_max_entries, std::uint64_t node_max_bytes) noexcept {
  constexpr std::uint64_t prealloc_max = 4096;  // t_stream.c STREAM_LISTPACK_MAX_PRE_ALLOCATE
  constexpr std::uint64_t metadata = 64;
  const std::uint64_t prealloc =
      node_max_bytes > 0 && node_max_bytes < prealloc_max ? node_max_bytes : prealloc_max;
  if (entries == 0) return 0;
  const std::uint64_t listpacks = dump_bytes > metadata ? dump_bytes - metadata : 0;
  const std::uint64_t max_bytes = node_max_bytes > 0 ? node_max_bytes : prealloc_max;
  const std::uint64_t by_entries =
      node_max_entries > 0 ? (entries + node_max_entries - 1) / node_max_entries : 1;
  const std::uint64_t by_bytes = (listpacks + max_bytes - 1) / max_bytes;
  std::uint64_t last = 0;
  if (by_bytes > by_entries) {
    // Nodes close when full of bytes: the last holds what is left over.
    last = listpacks - (by_bytes - 1) * max_bytes;
  } else {
    const std::uint64_t per_node = node_max_entries > 0 ? node_max_entries : entries;
    const std::uint64_t last_entries = (entries - 1) % per_node + 1;
    last = listpacks * last_entries / entries;
  }
  if (last >= prealloc) return 0;
  return prealloc - std::min(prealloc, allocation_size(last));
}

std::string human_bytes(double bytes) {
  constexpr std::array<const char*, 6> units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < units.size()) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  return fmt::format("{:.{}f} {}", bytes, bytes < 10 ? 2 : 1, units[unit]);
}

sample_stats::sample_stats(std::uint64_t big_key_bytes, std::size_t top, std::size_t big_list)
    : big_key_bytes_(big_key_bytes), top_(top), big_limit_(big_list) {}

void sample_stats::keep_largest(const sampled_key& key, std::vector<sampled_key>& list,
                                std::size_t limit) {
  if (limit == 0) return;
  if (list.size() == limit && !larger(key, list.back())) return;
  list.insert(std::upper_bound(list.begin(), list.end(), key, larger), key);
  if (list.size() > limit) list.pop_back();
}

void sample_stats::add(const sampled_key& key) {
  ++keys_;
  bytes_ += key.bytes;
  name_bytes_ += key.key.size();
  slack_ += key.slack;
  auto& share = types_[key.type];
  ++share.keys;
  share.bytes += key.bytes;
  ++sizes_[size_bucket(key.bytes)];
  ++ttls_[ttl_bucket(key.ttl_ms)];
  ++by_source_[static_cast<std::size_t>(key.measured_by)];
  if (key.ttl_ms >= 0) {
    ++with_ttl_;
    ttl_sum_ms_ += static_cast<double>(key.ttl_ms);
  }
  if (binary_name(key.key)) ++binary_names_;
  if (has_hash_tag(key.key)) ++hash_tagged_;
  keep_largest(key, largest_, top_);
  if (key.bytes >= big_key_bytes_) {
    ++big_count_;
    keep_largest(key, big_, big_limit_);
  }
}

void sample_stats::merge(const sample_stats& other) {
  keys_ += other.keys_;
  bytes_ += other.bytes_;
  name_bytes_ += other.name_bytes_;
  slack_ += other.slack_;
  with_ttl_ += other.with_ttl_;
  ttl_sum_ms_ += other.ttl_sum_ms_;
  big_count_ += other.big_count_;
  binary_names_ += other.binary_names_;
  hash_tagged_ += other.hash_tagged_;
  for (std::size_t i = 0; i < by_source_.size(); ++i) by_source_[i] += other.by_source_[i];
  for (std::size_t i = 0; i < sizes_.size(); ++i) sizes_[i] += other.sizes_[i];
  for (std::size_t i = 0; i < ttls_.size(); ++i) ttls_[i] += other.ttls_[i];
  for (const auto& [type, share] : other.types_) {
    auto& mine = types_[type];
    mine.keys += share.keys;
    mine.bytes += share.bytes;
  }
  for (const auto& key : other.largest_) keep_largest(key, largest_, top_);
  for (const auto& key : other.big_) keep_largest(key, big_, big_limit_);
}

double sample_stats::mean_bytes() const noexcept {
  return keys_ == 0 ? 0 : static_cast<double>(bytes_) / static_cast<double>(keys_);
}

double sample_stats::mean_ttl_ms() const noexcept {
  return with_ttl_ == 0 ? 0 : ttl_sum_ms_ / static_cast<double>(with_ttl_);
}

std::vector<bucket> sample_stats::size_histogram() const {
  std::vector<bucket> buckets;
  for (std::size_t i = 0; i < size_bounds.size(); ++i) {
    buckets.push_back({"<= " + human_bytes(static_cast<double>(size_bounds[i])), sizes_[i]});
  }
  buckets.push_back({"> " + human_bytes(static_cast<double>(size_bounds.back())), sizes_.back()});
  return buckets;
}

std::vector<bucket> sample_stats::ttl_histogram() const {
  return {{"no expiry", ttls_[0]}, {"< 1 min", ttls_[1]},  {"< 1 hour", ttls_[2]},
          {"< 1 day", ttls_[3]},   {"< 7 days", ttls_[4]}, {"< 30 days", ttls_[5]},
          {">= 30 days", ttls_[6]}};
}

}  // namespace ferry::engine
