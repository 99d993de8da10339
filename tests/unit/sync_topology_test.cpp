// Following a cluster source while a sync runs (engine/sync/topology_follow.hpp): failovers move
// a shard's home inside its group, resharding moves slots between shards, and slots of a master
// no shard knows are named.

#include <gtest/gtest.h>

#include "engine/sync/topology_follow.hpp"
#include "protocol/wire/resp_reader.hpp"

namespace ferry::engine {
namespace {

using protocol::slot_set;

struct node_spec {
  std::uint16_t port;
  std::string id;
};
struct range_spec {
  std::uint16_t first = 0, last = 0;
  node_spec master;
  std::vector<node_spec> replicas;
};

/// One range served by the master `port`/`id`, with replicas (port, id) pairs. (Built step by
/// step: GCC 12 at -O3 misreads nested braced strings as uninitialised.)
range_spec range(std::uint16_t first, std::uint16_t last, std::uint16_t port, const std::string& id,
                 std::vector<std::pair<std::uint16_t, std::string>> replicas = {}) {
  range_spec r;
  r.first = first;
  r.last = last;
  r.master.port = port;
  r.master.id = id;
  for (auto& [p, i] : replicas) {
    node_spec n;
    n.port = p;
    n.id = i;
    r.replicas.push_back(std::move(n));
  }
  return r;
}

// Appends rather than chains operator+: GCC 12's -Wrestrict misfires on such chains.
std::string bulk(std::string_view s) {
  std::string out("$");
  out.append(std::to_string(s.size())).append("\r\n").append(s).append("\r\n");
  return out;
}

std::string number(long n) {
  std::string out(":");
  out.append(std::to_string(n)).append("\r\n");
  return out;
}

/// A CLUSTER SLOTS reply for `ranges`, parsed into a topology.
protocol::topology map_of(const std::vector<range_spec>& ranges) {
  const auto header = [](std::size_t n) {
    std::string out("*");
    out.append(std::to_string(n)).append("\r\n");
    return out;
  };
  std::string wire = header(ranges.size());
  const auto node = [&](const node_spec& n) {
    std::string out = header(3);
    out.append(bulk("127.0.0.1")).append(number(n.port)).append(bulk(n.id));
    return out;
  };
  for (const auto& r : ranges) {
    wire.append(header(3 + r.replicas.size())).append(number(r.first)).append(number(r.last));
    wire.append(node(r.master));
    for (const auto& replica : r.replicas) wire.append(node(replica));
  }
  protocol::resp_reader reader;
  reader.feed(wire);
  auto reply = reader.next();
  EXPECT_TRUE(reply.has_value() && reply->has_value());
  auto map = protocol::topology::from_cluster_slots(**reply, {});
  EXPECT_TRUE(map.has_value()) << (map ? "" : map.error());
  return std::move(*map);
}

slot_set span(std::uint16_t first, std::uint16_t last) {
  slot_set s;
  for (std::size_t i = first; i <= last; ++i) s.set(i);
  return s;
}

std::vector<shard_view> views_of(const protocol::topology& map) {
  std::vector<shard_view> views;
  for (const auto& m : map.masters()) {
    shard_view v;
    v.group.insert(m.id);
    v.home_id = m.id;
    v.slots = protocol::slots_of(m.slots);
    views.push_back(std::move(v));
  }
  return views;
}

const std::string A = std::string(40, 'a'), B = std::string(40, 'b'), C = std::string(40, 'c');
const std::string A1 = std::string(40, '1'), B1 = std::string(40, '2');

TEST(follow, a_steady_cluster_moves_nothing_and_learns_the_replicas) {
  const auto map = map_of({range(0, 8191, 7001, A, {{7101, A1}}), range(8192, 16383, 7002, B)});
  auto views = views_of(map);
  const auto moves = follow(map, views, false);
  EXPECT_TRUE(moves.homes.empty());
  EXPECT_TRUE(moves.slots.empty());
  EXPECT_TRUE(moves.unowned.none());
  EXPECT_TRUE(views[0].group.contains(A1)) << "a replica may be promoted later";
}

TEST(follow, a_failover_moves_the_home_to_the_promoted_replica) {
  const auto before = map_of({range(0, 8191, 7001, A, {{7101, A1}}), range(8192, 16383, 7002, B)});
  auto views = views_of(before);
  follow(before, views, false);
  const auto after = map_of({range(0, 8191, 7101, A1, {{7001, A}}), range(8192, 16383, 7002, B)});
  const auto moves = follow(after, views, false);
  ASSERT_EQ(moves.homes.size(), 1u);
  EXPECT_EQ(moves.homes[0].shard, 0u);
  EXPECT_EQ(moves.homes[0].node.id, A1);
  EXPECT_EQ(moves.homes[0].node.where.port, 7101);
  EXPECT_FALSE(moves.homes[0].replica);
  EXPECT_TRUE(moves.slots.empty());
  EXPECT_EQ(views[0].home_id, A1);
  EXPECT_TRUE(follow(after, views, false).homes.empty()) << "once moved, it stays";
}

TEST(follow, reading_from_replicas_homes_on_a_replica_of_the_new_master) {
  const auto before = map_of({range(0, 16383, 7001, A, {{7101, A1}})});
  auto views = views_of(before);
  views[0].home_id = A1;  // the snapshot read the replica
  EXPECT_TRUE(follow(before, views, true).homes.empty());
  // The replica was promoted and the old master came back as its replica.
  const auto after = map_of({range(0, 16383, 7101, A1, {{7001, A}})});
  const auto moves = follow(after, views, true);
  ASSERT_EQ(moves.homes.size(), 1u);
  EXPECT_EQ(moves.homes[0].node.id, A);
  EXPECT_TRUE(moves.homes[0].replica);
  EXPECT_EQ(moves.homes[0].master.port, 7101);
}

TEST(follow, resharding_moves_slots_from_one_shard_to_another) {
  const auto before = map_of({range(0, 8191, 7001, A), range(8192, 16383, 7002, B)});
  auto views = views_of(before);
  const auto after =
      map_of({range(0, 8000, 7001, A), range(8001, 8191, 7002, B), range(8192, 16383, 7002, B)});
  const auto moves = follow(after, views, false);
  EXPECT_TRUE(moves.homes.empty());
  ASSERT_EQ(moves.slots.size(), 1u);
  EXPECT_EQ(moves.slots[0].from, 0u);
  EXPECT_EQ(moves.slots[0].to, 1u);
  EXPECT_EQ(moves.slots[0].slots, span(8001, 8191));
  EXPECT_EQ(views[0].slots, span(0, 8000));
  EXPECT_EQ(views[1].slots, span(8001, 16383));
  EXPECT_TRUE(follow(after, views, false).slots.empty());
}

TEST(follow, names_the_slots_of_a_master_no_shard_knows) {
  const auto before = map_of({range(0, 16383, 7001, A)});
  auto views = views_of(before);
  const auto after = map_of({range(0, 9999, 7001, A), range(10000, 16383, 7003, C)});
  const auto moves = follow(after, views, false);
  EXPECT_EQ(moves.unowned, span(10000, 16383));
}

TEST(home_for, prefers_the_replica_already_read) {
  const auto map = map_of({range(0, 16383, 7001, A, {{7101, A1}, {7102, B1}})});
  const auto& master = map.masters()[0];
  EXPECT_EQ(home_for(map, master, false, B1).id, A);
  EXPECT_EQ(home_for(map, master, true, B1).id, B1);
  EXPECT_EQ(home_for(map, master, true, "").id, A1);
}

}  // namespace
}  // namespace ferry::engine
