// Deciding which slots a resharding (or a failover) may have robbed of keys mid-scan, reading the
// MIGRATING/IMPORTING marks of CLUSTER NODES, and slot sets as text (state file, warnings).

#include "engine/topology/slot_watch.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "protocol/wire/resp_reader.hpp"
#include "protocol/wire/slot_flux.hpp"

namespace ferry::engine {
namespace {

/// One master of a CLUSTER SLOTS reply: its range, id, and replica ids.
struct owner {
  std::uint16_t start, end;
  std::string id;
  std::vector<std::string> replicas;
};

std::string bulk(std::string_view s) { return fmt::format("${}\r\n{}\r\n", s.size(), s); }

/// The topology a CLUSTER SLOTS reply listing `owners` describes (ports are made up).
protocol::topology map_of(const std::vector<owner>& owners) {
  std::string wire = fmt::format("*{}\r\n", owners.size());
  for (const auto& o : owners) {
    wire += fmt::format("*{}\r\n:{}\r\n:{}\r\n", 3 + o.replicas.size(), o.start, o.end);
    int port = 7000 + static_cast<int>(o.id[0]);
    wire += fmt::format("*3\r\n{}:{}\r\n{}", bulk("127.0.0.1"), port, bulk(o.id));
    for (const auto& r : o.replicas) {
      wire += fmt::format("*3\r\n{}:{}\r\n{}", bulk("127.0.0.1"), 7000 + r[0], bulk(r));
    }
  }
  protocol::resp_reader reader;
  reader.feed(wire);
  auto next = reader.next();
  EXPECT_TRUE(next.has_value() && next->has_value()) << reader.error_message();
  protocol::endpoint seed;
  seed.host = "127.0.0.1";
  auto map = protocol::topology::from_cluster_slots(**next, seed);
  EXPECT_TRUE(map.has_value());
  return std::move(*map);
}

slot_set range(std::uint16_t a, std::uint16_t b) { return slots_of({{a, b}}); }

TEST(slot_watch, a_stable_cluster_moves_nothing) {
  slot_watch watch;
  watch.watch(range(0, 8191), "a");
  watch.watch(range(8192, 16383), "b");
  watch.observe(map_of({{0, 8191, "a", {}}, {8192, 16383, "b", {}}}), {});
  EXPECT_TRUE(watch.moved().none());
}

TEST(slot_watch, slots_that_change_owner_or_are_migrating_are_moved) {
  slot_watch watch;
  watch.watch(range(0, 8191), "a");
  watch.watch(range(8192, 16383), "b");
  slot_set flux;
  flux.set(8192);
  watch.observe(map_of({{0, 7999, "a", {}}, {8000, 16383, "b", {}}}), flux);
  EXPECT_EQ(slot_text(watch.moved()), "8000-8192");
  EXPECT_EQ(slot_text(watch.take_moved()), "8000-8192");
  EXPECT_TRUE(watch.moved().none());
}

TEST(slot_watch, a_failover_keeps_the_scanned_node_in_the_group) {
  slot_watch watch;
  watch.watch(range(0, 16383), "a");
  // "c" was a's replica and took over; "a" follows it now.
  watch.observe(map_of({{0, 16383, "c", {"a"}}}), {});
  EXPECT_TRUE(watch.moved().none());
  // A replica scanned with --read-from replicas is fine while it serves the same master.
  slot_watch replicas;
  replicas.watch(range(0, 16383), "r");
  replicas.observe(map_of({{0, 16383, "a", {"r"}}}), {});
  EXPECT_TRUE(replicas.moved().none());
}

TEST(slot_watch, released_slots_no_longer_count) {
  slot_watch watch;
  watch.watch(range(0, 16383), "a");
  watch.release(range(0, 99));
  EXPECT_EQ(slot_text(watch.watched()), "100-16383");
  watch.observe(map_of({{0, 199, "b", {}}, {200, 16383, "a", {}}}), {});
  EXPECT_EQ(slot_text(watch.moved()), "100-199");
  watch.mark(range(5, 5));
  EXPECT_EQ(slot_text(watch.moved()), "5,100-199");
}

TEST(slot_text, round_trips_and_rejects_nonsense) {
  slot_set slots = range(0, 99) | range(200, 200) | range(16000, 16383);
  EXPECT_EQ(slot_text(slots), "0-99,200,16000-16383");
  auto parsed = parse_slot_text("0-99,200,16000-16383");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, slots);
  EXPECT_TRUE(parse_slot_text("")->none());
  EXPECT_FALSE(parse_slot_text("5-3").has_value());
  EXPECT_FALSE(parse_slot_text("1,x").has_value());
}

TEST(slots_in_flux, reads_only_the_markers_of_the_answering_node) {
  const std::string nodes =
      "e64f 127.0.0.1:27001@37001 myself,master - 0 0 1 connected 0-5460 "
      "[5461-<-a110c] [100->-50f0]\n"
      "a110c 127.0.0.1:27002@37002 master - 0 1 2 connected 5461-10922 [7->-e64f]\n";
  EXPECT_EQ(protocol::slots_in_flux(nodes), (std::vector<std::uint16_t>{5461, 100}));
  EXPECT_TRUE(protocol::slots_in_flux("x 1:2@3 myself,master - 0 0 1 connected 0-16383\n").empty());
  EXPECT_TRUE(protocol::slots_in_flux("x myself [99999->-y] [abc] [\n").empty());
}

}  // namespace
}  // namespace ferry::engine
