#include "engine/sync/topology_follow.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "protocol/net/discovery.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

const protocol::cluster_node& home_for(const protocol::topology& map,
                                       const protocol::cluster_node& master,
                                       bool read_from_replicas, const std::string& prefer) {
  if (!read_from_replicas) return master;
  const protocol::cluster_node* first = nullptr;
  for (const auto& replica : map.replicas()) {
    if (replica.master_id != master.id) continue;
    if (replica.id == prefer) return replica;
    if (first == nullptr) first = &replica;
  }
  return first != nullptr ? *first : master;
}

topology_moves follow(const protocol::topology& map, std::vector<shard_view>& shards,
                      bool read_from_replicas) {
  topology_moves moves;
  std::vector<protocol::slot_set> now(shards.size());
  std::vector<bool> homed(shards.size(), false);
  for (const auto& master : map.masters()) {
    std::optional<std::size_t> owner;
    for (std::size_t s = 0; s < shards.size() && !owner; ++s) {
      if (shards[s].group.contains(master.id)) owner = s;
    }
    const protocol::slot_set served = protocol::slots_of(master.slots);
    if (!owner) {
      moves.unowned |= served;
      continue;
    }
    shard_view& shard = shards[*owner];
    // The group grows with the master's replicas: a later failover may promote any of them.
    for (const auto& replica : map.replicas()) {
      if (replica.master_id == master.id) shard.group.insert(replica.id);
    }
    now[*owner] |= served;
    const protocol::cluster_node& home = home_for(map, master, read_from_replicas, shard.home_id);
    // A group with two masters (a split brain, seen half-way) is homed on the first one.
    if (homed[*owner]) continue;
    homed[*owner] = true;
    if (home.id != shard.home_id) {
      moves.homes.push_back({*owner, home, home.id != master.id, master.where});
      shard.home_id = home.id;
    }
  }
  for (std::size_t from = 0; from < shards.size(); ++from) {
    const protocol::slot_set lost = shards[from].slots & ~now[from];
    if (lost.none()) continue;
    for (std::size_t to = 0; to < shards.size(); ++to) {
      if (to == from) continue;
      const protocol::slot_set moved = lost & now[to] & ~shards[to].slots;
      if (moved.any()) moves.slots.push_back({from, to, moved});
    }
  }
  for (const auto& move : moves.slots) {
    shards[move.from].slots &= ~move.slots;
    shards[move.to].slots |= move.slots;
  }
  return moves;
}

cluster_look::cluster_look(protocol::connection_options seed, const protocol::topology& known)
    : seed_(std::move(seed)) {
  candidates_.push_back(seed_.where);
  for (const auto& node : known.masters()) candidates_.push_back(node.where);
  for (const auto& node : known.replicas()) candidates_.push_back(node.where);
}

cluster_look::~cluster_look() = default;

maybe<protocol::topology> cluster_look::look() {
  std::optional<maybe<protocol::topology>> result;
  asio::co_spawn(
      io_,
      [this]() -> asio::awaitable<maybe<protocol::topology>> {
        protocol::failure last{};
        for (int attempt = 0; attempt < 2; ++attempt) {
          if (open_ && open_->is_open()) {
            auto facts = co_await protocol::discover(*open_);
            if (facts) {
              // Nodes seen now are candidates for the next looks, should this one go away.
              for (const auto& n : facts->map.masters()) {
                if (std::find(candidates_.begin(), candidates_.end(), n.where) ==
                    candidates_.end()) {
                  candidates_.push_back(n.where);
                }
              }
              co_return std::move(facts->map);
            }
            last = facts.error();
            open_.reset();
          }
          for (const auto& candidate : candidates_) {
            auto options = protocol::at_node(seed_, candidate.host, candidate.port);
            options.connect_timeout =
                std::min(options.connect_timeout, std::chrono::milliseconds{2'000});
            options.io_timeout = std::min(options.io_timeout, std::chrono::milliseconds{5'000});
            auto c = std::make_unique<protocol::connection>(io_.get_executor(), options);
            if (auto ec = co_await c->connect()) {
              last = {ec, c->last_error()};
              continue;
            }
            open_ = std::move(c);
            break;
          }
          if (!open_) break;
        }
        co_return protocol::failure{last.code, fmt::format("cannot read the source cluster's slot "
                                                           "map: {}",
                                                           last.message)};
      },
      [&result](std::exception_ptr e, maybe<protocol::topology> value) {
        if (e) std::rethrow_exception(e);
        result.emplace(std::move(value));
      });
  io_.restart();
  io_.run();
  return std::move(*result);
}

}  // namespace ferry::engine
