#include "protocol/wire/topology.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>

namespace ferry::protocol {
namespace {

using parse_result = boost::system::result<topology, std::string>;

/// Looks up `name` in a flat [name, value, name, value, ...] array.
const reply* field(const reply& map, std::string_view name) {
  if (map.kind != reply_kind::array) return nullptr;
  for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2) {
    if (map.elements[i].text() == name) return &map.elements[i + 1];
  }
  return nullptr;
}

std::string field_text(const reply& map, std::string_view name) {
  const reply* value = field(map, name);
  return value == nullptr ? std::string{} : value->str.str();
}

std::int64_t field_integer(const reply& map, std::string_view name) {
  const reply* value = field(map, name);
  return value != nullptr && value->kind == reply_kind::integer ? value->integer : 0;
}

/// The seed's scheme and credentials with a discovered node's host and port. "?" or an empty host
/// means the node does not know its address: it is the seed's host.
endpoint node_endpoint(const endpoint& seed, std::string host, std::int64_t port) {
  endpoint where = seed;
  if (!host.empty() && host != "?") where.host = std::move(host);
  where.port = static_cast<std::uint16_t>(port);
  where.db = 0;
  return where;
}

}  // namespace

topology topology::standalone(const endpoint& seed) {
  topology result;
  cluster_node node;
  node.where = seed;
  node.slots.push_back(slot_range{});
  result.add_master(std::move(node));
  result.finish();
  return result;
}

std::optional<std::size_t> topology::master_of(std::uint16_t slot) const noexcept {
  if (slot >= slot_count || owner_[slot] == no_owner) return std::nullopt;
  return owner_[slot];
}

std::optional<std::size_t> topology::find_master(const std::string& address) const {
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    if (masters_[i].where.address() == address) return i;
  }
  return std::nullopt;
}

std::vector<slot_range> topology::unassigned() const {
  std::vector<slot_range> gaps;
  for (std::uint32_t slot = 0; slot < slot_count; ++slot) {
    if (owner_[slot] != no_owner) continue;
    if (!gaps.empty() && gaps.back().end + 1u == slot) {
      gaps.back().end = static_cast<std::uint16_t>(slot);
    } else {
      gaps.push_back({static_cast<std::uint16_t>(slot), static_cast<std::uint16_t>(slot)});
    }
  }
  return gaps;
}

void topology::add_master(cluster_node node) { masters_.push_back(std::move(node)); }

void topology::finish() {
  for (auto& node : masters_)
    std::sort(node.slots.begin(), node.slots.end(),
              [](auto a, auto b) { return a.start < b.start; });
  std::sort(masters_.begin(), masters_.end(), [](const cluster_node& a, const cluster_node& b) {
    return a.slots.front().start < b.slots.front().start;
  });
  owner_.fill(no_owner);
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    for (const slot_range& range : masters_[i].slots) {
      for (std::uint32_t slot = range.start; slot <= range.end; ++slot) {
        owner_[slot] = static_cast<std::uint16_t>(i);
      }
    }
  }
}

parse_result topology::from_cluster_shards(const reply& shards, const endpoint& seed) {
  if (shards.kind != reply_kind::array)
    return std::string("CLUSTER SHARDS did not return an array");
  topology result;
  result.cluster_ = true;
  for (const reply& shard : shards.elements) {
    const reply* slots = field(shard, "slots");
    const reply* nodes = field(shard, "nodes");
    if (slots == nullptr || nodes == nullptr || nodes->kind != reply_kind::array) {
      return std::string("CLUSTER SHARDS returned a shard without 'slots' or 'nodes'");
    }
    std::vector<slot_range> ranges;
    for (std::size_t i = 0; i + 1 < slots->elements.size(); i += 2) {
      const auto start = slots->elements[i].integer;
      const auto end = slots->elements[i + 1].integer;
      if (start < 0 || end < start || end >= slot_count) {
        return fmt::format("CLUSTER SHARDS returned an invalid slot range {}-{}", start, end);
      }
      ranges.push_back({static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(end)});
    }
    std::string master_id;
    std::vector<cluster_node> shard_replicas;
    for (const reply& node : nodes->elements) {
      const std::int64_t port = seed.tls && field(node, "tls-port") != nullptr
                                    ? field_integer(node, "tls-port")
                                    : field_integer(node, "port");
      std::string host = field_text(node, "endpoint");
      if (host.empty() || host == "?") host = field_text(node, "ip");
      cluster_node entry{
          field_text(node, "id"), node_endpoint(seed, std::move(host), port), {}, {}};
      if (port <= 0 || port > 65535) {
        return fmt::format("CLUSTER SHARDS gives node {} no usable {}port", entry.id,
                           seed.tls ? "tls-" : "");
      }
      if (field_text(node, "role") == "master") {
        if (!ranges.empty()) {
          entry.slots = ranges;
          master_id = entry.id;
          result.add_master(std::move(entry));
        }
      } else {
        shard_replicas.push_back(std::move(entry));
      }
    }
    for (auto& replica : shard_replicas) {
      replica.master_id = master_id;
      result.replicas_.push_back(std::move(replica));
    }
  }
  if (result.masters_.empty()) return std::string("the cluster has no master serving slots");
  result.finish();
  return result;
}

parse_result topology::from_cluster_slots(const reply& slots, const endpoint& seed) {
  if (slots.kind != reply_kind::array) return std::string("CLUSTER SLOTS did not return an array");
  topology result;
  result.cluster_ = true;
  std::map<std::string, cluster_node> masters;  // by "id" or address
  std::map<std::string, cluster_node> replicas;
  for (const reply& entry : slots.elements) {
    if (entry.elements.size() < 3) return std::string("CLUSTER SLOTS returned a short entry");
    const auto start = entry.elements[0].integer;
    const auto end = entry.elements[1].integer;
    if (start < 0 || end < start || end >= slot_count) {
      return fmt::format("CLUSTER SLOTS returned an invalid slot range {}-{}", start, end);
    }
    for (std::size_t i = 2; i < entry.elements.size(); ++i) {
      const reply& node = entry.elements[i];
      if (node.elements.size() < 2) return std::string("CLUSTER SLOTS returned a short node");
      cluster_node parsed{node.elements.size() > 2 ? node.elements[2].str.str() : std::string{},
                          node_endpoint(seed, node.elements[0].str.str(), node.elements[1].integer),
                          {},
                          {}};
      const std::string key = parsed.id.empty() ? parsed.where.address() : parsed.id;
      if (i == 2) {
        auto [it, inserted] = masters.try_emplace(key, std::move(parsed));
        it->second.slots.push_back(
            {static_cast<std::uint16_t>(start), static_cast<std::uint16_t>(end)});
      } else {
        parsed.master_id = entry.elements[2].elements.size() > 2
                               ? entry.elements[2].elements[2].str.str()
                               : std::string{};
        replicas.try_emplace(key, std::move(parsed));
      }
    }
  }
  for (auto& [key, node] : masters) result.add_master(std::move(node));
  for (auto& [key, node] : replicas) result.replicas_.push_back(std::move(node));
  if (result.masters_.empty()) return std::string("the cluster has no master serving slots");
  result.finish();
  return result;
}

}  // namespace ferry::protocol
