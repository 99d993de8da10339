// Slot maps built from CLUSTER SHARDS and CLUSTER SLOTS replies captured from redis-server 7.0.15.

#include "protocol/wire/topology.hpp"

#include <gtest/gtest.h>

#include "protocol/wire/resp_reader.hpp"

namespace ferry::protocol {
namespace {

reply parse(std::string_view wire) {
  resp_reader reader;
  reader.feed(wire);
  auto next = reader.next();
  EXPECT_TRUE(next.has_value() && next->has_value()) << reader.error_message();
  return std::move(**next);
}

// CLUSTER SHARDS of a 3-master cluster on ports 27001-27003 (no replicas).
constexpr std::string_view shards_wire =
    "*3\r\n*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10922\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$"
    "40\r\na110c19896e234ad5c4b7ce7a5808b45422e37be\r\n$4\r\nport\r\n:27002\r\n$2\r\nip\r\n$9\r\n"
    "127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nrepli"
    "cation-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n*4\r\n$5\r\nslots\r\n*2\r\n:10923\r\n"
    ":16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid\r\n$40\r\n50f0f6e765229f80e5e635ac7e33b17acab"
    "e0924\r\n$4\r\nport\r\n:27003\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127."
    "0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6"
    "\r\nonline\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*1\r\n*14\r\n$2\r\nid"
    "\r\n$40\r\ne64f91c4c83938d696402d2c4e218e824e2e942f\r\n$4\r\nport\r\n:27001\r\n$2\r\nip\r\n$"
    "9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\n"
    "replication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

// CLUSTER SLOTS of the same cluster.
constexpr std::string_view slots_wire =
    "*3\r\n*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:27001\r\n$40\r\ne64f91c4c83938d696402d2"
    "c4e218e824e2e942f\r\n*0\r\n*3\r\n:5461\r\n:10922\r\n*4\r\n$9\r\n127.0.0.1\r\n:27002\r\n$40\r"
    "\na110c19896e234ad5c4b7ce7a5808b45422e37be\r\n*0\r\n*3\r\n:10923\r\n:16383\r\n*4\r\n$9\r\n12"
    "7.0.0.1\r\n:27003\r\n$40\r\n50f0f6e765229f80e5e635ac7e33b17acabe0924\r\n*0\r\n";

endpoint seed() {
  endpoint e;
  e.host = "localhost";
  e.port = 27002;
  e.user = "ferry";
  e.password = "secret";
  return e;
}

void expect_three_masters(const topology& map) {
  ASSERT_TRUE(map.is_cluster());
  ASSERT_EQ(map.masters().size(), 3u);
  // Ordered by first slot.
  EXPECT_EQ(map.masters()[0].where.port, 27001);
  EXPECT_EQ(map.masters()[1].where.port, 27002);
  EXPECT_EQ(map.masters()[2].where.port, 27003);
  EXPECT_EQ(map.masters()[0].slots.front(), (slot_range{0, 5460}));
  EXPECT_EQ(map.master_of(0), 0u);
  EXPECT_EQ(map.master_of(5460), 0u);
  EXPECT_EQ(map.master_of(5461), 1u);
  EXPECT_EQ(map.master_of(16383), 2u);
  EXPECT_TRUE(map.unassigned().empty());
  // Nodes inherit the seed's credentials, with their own address.
  EXPECT_EQ(map.masters()[2].where.host, "127.0.0.1");
  EXPECT_EQ(map.masters()[2].where.user, "ferry");
  EXPECT_EQ(map.masters()[2].where.password, "secret");
  EXPECT_EQ(map.find_master("127.0.0.1:27003"), 2u);
  EXPECT_FALSE(map.find_master("127.0.0.1:1").has_value());
}

TEST(topology, from_cluster_shards) {
  auto map = topology::from_cluster_shards(parse(shards_wire), seed());
  ASSERT_TRUE(map.has_value()) << map.error();
  expect_three_masters(*map);
  EXPECT_EQ(map->masters()[0].id, "e64f91c4c83938d696402d2c4e218e824e2e942f");
}

TEST(topology, from_cluster_slots) {
  auto map = topology::from_cluster_slots(parse(slots_wire), seed());
  ASSERT_TRUE(map.has_value()) << map.error();
  expect_three_masters(*map);
}

TEST(topology, standalone_owns_every_slot) {
  auto map = topology::standalone(seed());
  EXPECT_FALSE(map.is_cluster());
  ASSERT_EQ(map.masters().size(), 1u);
  EXPECT_EQ(map.master_of(0), 0u);
  EXPECT_EQ(map.master_of(16383), 0u);
  EXPECT_EQ(map.masters()[0].where.port, 27002);
}

TEST(topology, shards_with_replica_tls_port_and_a_gap) {
  // One shard with slots 0-99 and 200-16383, a master and a replica, TLS ports only.
  constexpr std::string_view wire =
      "*1\r\n*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n"
      "*10\r\n$2\r\nid\r\n$1\r\nA\r\n$8\r\ntls-port\r\n:7000\r\n$2\r\nip\r\n$8\r\n10.0.0.1\r\n"
      "$8\r\nendpoint\r\n$1\r\n?\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
      "*10\r\n$2\r\nid\r\n$1\r\nB\r\n$8\r\ntls-port\r\n:7001\r\n$2\r\nip\r\n$8\r\n10.0.0.2\r\n"
      "$8\r\nendpoint\r\n$8\r\nnode-b.x\r\n$4\r\nrole\r\n$7\r\nreplica\r\n";
  endpoint tls_seed = seed();
  tls_seed.tls = true;
  auto map = topology::from_cluster_shards(parse(wire), tls_seed);
  ASSERT_TRUE(map.has_value()) << map.error();
  ASSERT_EQ(map->masters().size(), 1u);
  EXPECT_EQ(map->masters()[0].where.host, "10.0.0.1");  // endpoint "?" falls back to ip
  EXPECT_EQ(map->masters()[0].where.port, 7000);
  EXPECT_TRUE(map->masters()[0].where.tls);
  ASSERT_EQ(map->replicas().size(), 1u);
  EXPECT_EQ(map->replicas()[0].where.host, "node-b.x");
  EXPECT_EQ(map->replicas()[0].master_id, "A");
  EXPECT_FALSE(map->master_of(150).has_value());
  ASSERT_EQ(map->unassigned().size(), 1u);
  EXPECT_EQ(map->unassigned()[0], (slot_range{100, 199}));
}

TEST(topology, malformed_replies_are_errors) {
  EXPECT_FALSE(topology::from_cluster_shards(parse(":1\r\n"), seed()).has_value());
  EXPECT_FALSE(topology::from_cluster_slots(parse("*1\r\n*1\r\n:0\r\n"), seed()).has_value());
  // A reversed slot range.
  EXPECT_FALSE(
      topology::from_cluster_slots(parse("*1\r\n*3\r\n:9\r\n:1\r\n*2\r\n$1\r\nh\r\n:1\r\n"), seed())
          .has_value());
  // No master serving slots at all.
  EXPECT_FALSE(topology::from_cluster_shards(parse("*0\r\n"), seed()).has_value());
}

}  // namespace
}  // namespace ferry::protocol
