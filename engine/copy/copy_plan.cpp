#include "engine/copy/copy_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>

#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// Connects to a shard's node: its run_id, DBSIZE, and the keys of its other databases.
asio::awaitable<maybe<shard_plan>> probe_shard(const protocol::connection_options& base,
                                               const protocol::cluster_node& node,
                                               std::vector<protocol::keyspace_entry>& others) {
  const protocol::connection_options options =
      protocol::at_node(base, node.where.host, node.where.port);
  protocol::connection c(co_await asio::this_coro::executor, options);
  if (auto ec = co_await c.connect()) {
    co_return protocol::failure{
        ec, fmt::format("cannot use source node {}: {}", node.where.address(), c.last_error())};
  }
  protocol::command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"DBSIZE"});
  commands.push({"INFO", "keyspace"});
  std::vector<protocol::reply> replies;
  if (auto ec = co_await c.exec(commands, replies)) co_return protocol::failure{ec, c.last_error()};
  if (replies[1].is_error()) {
    co_return fail_with(
        protocol::classify_error_reply(replies[1].text()),
        fmt::format("source node {}: DBSIZE refused: {}", node.where.address(), replies[1].text()));
  }
  shard_plan plan;
  plan.node = options.where;
  plan.node_id = node.id;
  plan.run_id = replies[0].is_error()
                    ? std::string{}
                    : std::string(protocol::info_text(replies[0].text(), "run_id"));
  plan.estimate = static_cast<std::uint64_t>(std::max<std::int64_t>(replies[1].integer, 0));
  if (!replies[2].is_error()) {
    for (const auto& db : protocol::parse_keyspace(replies[2].text())) {
      if (db.db == options.where.db || db.keys == 0) continue;
      auto same = std::find_if(others.begin(), others.end(),
                               [&](const protocol::keyspace_entry& e) { return e.db == db.db; });
      if (same == others.end()) {
        others.push_back(db);
      } else {
        same->keys += db.keys;
        same->expires += db.expires;
      }
    }
  }
  co_return plan;
}

/// The part a split job copies: what its first run recorded in the state file, or else part
/// `part.index` of split_slots() over the source's masters.
part_plan plan_part(const slot_part& part, const protocol::topology& map, const slot_set& wanted,
                    const checkpoint* previous) {
  part_plan plan;
  plan.part = part;
  std::vector<slot_set> masters;
  for (const auto& master : map.masters()) masters.push_back(slots_of(master.slots) & wanted);
  if (previous != nullptr && previous->part_slots) {
    plan.slots = *previous->part_slots & wanted;
    plan.from_state = true;
  } else {
    const auto shares = split_slots(masters, part.count);
    const split_share& mine = shares.at(part.index);
    plan.slots = mine.slots;
    plan.whole_masters = mine.whole_masters;
  }
  for (std::size_t m = 0; m < masters.size(); ++m) {
    const slot_set taken = masters[m] & plan.slots;
    if (taken.none()) continue;
    plan.masters.push_back(map.masters()[m].where.address());
    if (taken != masters[m]) plan.whole_masters = false;
  }
  return plan;
}

/// The shard of `previous` that describes the same node and the same process, if any.
const shard_state* same_shard(const checkpoint& previous, const shard_plan& shard) {
  for (const auto& saved : previous.shards) {
    const bool same_node = shard.node_id.empty() ? saved.address == shard.node.address()
                                                 : saved.node_id == shard.node_id;
    if (same_node && !saved.run_id.empty() && saved.run_id == shard.run_id) return &saved;
  }
  return nullptr;
}

}  // namespace

asio::awaitable<std::vector<std::size_t>> restarted_shards(const copy_plan& plan) {
  std::vector<std::size_t> restarted;
  for (std::size_t i = 0; i < plan.shards.size(); ++i) {
    const shard_plan& shard = plan.shards[i];
    if (shard.run_id.empty()) continue;
    protocol::connection c(co_await asio::this_coro::executor,
                           protocol::at_node(plan.sides.source, shard.node.host, shard.node.port));
    if (co_await c.connect()) continue;
    protocol::command_buffer commands;
    commands.push({"INFO", "server"});
    std::vector<protocol::reply> replies;
    if (co_await c.exec(commands, replies) || replies[0].is_error()) continue;
    if (protocol::info_text(replies[0].text(), "run_id") != shard.run_id) restarted.push_back(i);
  }
  co_return restarted;
}

job_identity identity_of(const copy_config& config) {
  return {endpoint_identity(config.source.where),
          endpoint_identity(config.target.where),
          config.match,
          config.type,
          config.slots ? fmt::format("{}-{}", config.slots->start, config.slots->end) : "",
          config.part ? config.part->text() : ""};
}

asio::awaitable<maybe<copy_plan>> plan_copy(const copy_config& config, const checkpoint* previous) {
  copy_plan plan;
  if (config.part && (config.part->count == 0 || config.part->index >= config.part->count)) {
    co_return fail_with(job_error::configuration,
                        fmt::format("part {} of a split into {} does not exist (0 <= index < "
                                    "count)",
                                    config.part->index, config.part->count));
  }
  plan.identity = identity_of(config);
  auto sides = co_await inspect_sides(config.source, config.target, config.tune,
                                      "ferry will not copy a database onto itself");
  if (!sides) co_return sides.error();
  plan.sides = std::move(*sides);
  const protocol::topology& source_map = plan.sides.source_facts.map;

  if (auto gaps = source_map.unassigned(); !gaps.empty()) {
    co_return fail_with(errc::clusterdown,
                        fmt::format("the source cluster does not serve slots {}-{} (and {} more "
                                    "ranges); fix the cluster before copying",
                                    gaps.front().start, gaps.front().end, gaps.size() - 1));
  }
  slot_set wanted = config.slots ? slots_of({*config.slots}) : slot_set{}.set();
  if (config.part) {
    plan.part = plan_part(*config.part, source_map, wanted, previous);
    wanted = plan.part->slots;
  }
  for (const auto& master : source_map.masters()) {
    const slot_set all_owned = slots_of(master.slots);
    const slot_set owned = all_owned & wanted;
    if (owned.none()) continue;
    const protocol::cluster_node* node = &master;
    if (config.protect.read_from_replicas) {
      for (const auto& replica : source_map.replicas()) {
        if (replica.master_id == master.id) {
          node = &replica;
          break;
        }
      }
    }
    auto shard = co_await probe_shard(plan.sides.source, *node, plan.other_dbs);
    if (!shard) co_return shard.error();
    shard->slots = owned;
    // Progress expects the share of the node's keys in the slots copied (keys hash uniformly).
    if (owned != all_owned && all_owned.any()) {
      shard->estimate = static_cast<std::uint64_t>(static_cast<double>(shard->estimate) *
                                                   static_cast<double>(owned.count()) /
                                                   static_cast<double>(all_owned.count()));
    }
    if (previous != nullptr) {
      if (const shard_state* saved = same_shard(*previous, *shard)) {
        shard->start = saved->position;
        shard->from_state = true;
        // Its cursor says nothing about slots that came to the node since: rescan those.
        if (saved->slots) {
          plan.moved |= owned & ~*saved->slots;
          shard->slots = owned & *saved->slots;
        }
      }
    }
    plan.shards.push_back(std::move(*shard));
  }
  if (previous != nullptr) plan.moved |= previous->moved & wanted;

  if (config.existing == existing_policy::unset && previous == nullptr) {
    auto held =
        co_await key_counts(plan.sides.target, plan.sides.target_facts.map.masters(), "target");
    if (!held) co_return held.error();
    std::uint64_t total = 0;
    for (auto n : *held) total += n;
    if (total != 0) {
      co_return fail_with(
          errc::busykey,
          fmt::format("the target {} (db {}) already holds {} keys; ferry writes into a non-empty "
                      "target only when told what to do with keys that exist there: "
                      "--on-existing fail (keep them, report each as failed), skip (keep them, "
                      "count them as skipped) or replace (overwrite them)",
                      plan.sides.target.where.address(), plan.sides.target.where.db, total));
    }
  }
  co_return plan;
}

}  // namespace ferry::engine
