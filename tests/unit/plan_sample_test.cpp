// Sample statistics, payload trailers, notification flags and buffer limits
// (engine/plan/sample_stats, sampler's payload_rdb_version, findings' parsers).

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/plan/findings.hpp"
#include "engine/plan/sample_stats.hpp"
#include "engine/plan/sampler.hpp"

namespace ferry::engine {
namespace {

sampled_key key(std::string name, std::string type, std::uint64_t bytes, std::int64_t ttl = -1) {
  sampled_key k;
  k.key = std::move(name);
  k.type = std::move(type);
  k.bytes = bytes;
  k.ttl_ms = ttl;
  k.node = "h:1";
  return k;
}

TEST(sample_stats, counts_types_sizes_expiries_and_names) {
  sample_stats s(1000, 2, 10);
  s.add(key("a", "string", 50));
  s.add(key("{user1}:cart", "hash", 2000, 30'000));
  s.add(key(std::string("bin\0ary", 7), "list", 300, 7'200'000));
  s.add(key("z", "string", 5000, 90ll * 86'400'000));
  EXPECT_EQ(s.keys(), 4u);
  EXPECT_EQ(s.bytes(), 7350u);
  EXPECT_DOUBLE_EQ(s.mean_bytes(), 7350.0 / 4);
  EXPECT_EQ(s.types().at("string").keys, 2u);
  EXPECT_EQ(s.types().at("string").bytes, 5050u);
  EXPECT_EQ(s.with_ttl(), 3u);
  EXPECT_EQ(s.binary_names(), 1u);
  EXPECT_EQ(s.hash_tagged(), 1u);
  EXPECT_EQ(s.measured_by(size_source::memory_usage), 4u);

  const auto sizes = s.size_histogram();
  ASSERT_EQ(sizes.size(), 12u);
  EXPECT_EQ(sizes[0].label, "<= 64 B");
  EXPECT_EQ(sizes[0].keys, 1u);  // 50
  EXPECT_EQ(sizes[2].keys, 1u);  // 300 <= 1 KiB
  EXPECT_EQ(sizes[3].keys, 1u);  // 2000 <= 4 KiB
  EXPECT_EQ(sizes[4].keys, 1u);  // 5000 <= 16 KiB
  const auto ttls = s.ttl_histogram();
  EXPECT_EQ(ttls[0].keys, 1u);  // none
  EXPECT_EQ(ttls[1].keys, 1u);  // 30 s < 1 min
  EXPECT_EQ(ttls[3].keys, 1u);  // 2 h < 1 day
  EXPECT_EQ(ttls[6].keys, 1u);  // 90 days

  // The two largest, largest first; two keys of at least 1000 bytes.
  ASSERT_EQ(s.largest().size(), 2u);
  EXPECT_EQ(s.largest()[0].key, "z");
  EXPECT_EQ(s.largest()[1].key, "{user1}:cart");
  EXPECT_EQ(s.big_key_count(), 2u);
}

TEST(sample_stats, big_key_lists_stay_bounded_and_merge_keeps_the_largest) {
  sample_stats a(10, 3, 5), b(10, 3, 5);
  for (int i = 0; i < 100; ++i) a.add(key(fmt::format("a{}", i), "string", 10 + i));
  for (int i = 0; i < 100; ++i) b.add(key(fmt::format("b{}", i), "string", 500 + i));
  EXPECT_EQ(a.big_keys().size(), 5u);
  EXPECT_EQ(a.big_key_count(), 100u);
  a.merge(b);
  EXPECT_EQ(a.keys(), 200u);
  EXPECT_EQ(a.big_key_count(), 200u);
  ASSERT_EQ(a.largest().size(), 3u);
  EXPECT_EQ(a.largest()[0].key, "b99");
  EXPECT_EQ(a.big_keys().front().key, "b99");
  EXPECT_EQ(a.big_keys().back().key, "b95");
}

TEST(names, binary_and_hash_tags_as_the_cluster_specification_reads_them) {
  EXPECT_FALSE(binary_name("user:42"));
  EXPECT_TRUE(binary_name(std::string_view("a\nb")));
  EXPECT_TRUE(binary_name("caf\xc3\xa9"));
  EXPECT_TRUE(has_hash_tag("{user42}:cart"));
  EXPECT_TRUE(has_hash_tag("x{a}{b}"));
  EXPECT_FALSE(has_hash_tag("{}:empty"));
  EXPECT_FALSE(has_hash_tag("no}{tag"));  // '}' before '{' and nothing closes
  EXPECT_FALSE(has_hash_tag("plain"));
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.50 KiB");
  EXPECT_EQ(human_bytes(64.0 * (1 << 20)), "64.0 MiB");
}

TEST(allocation_size, follows_jemallocs_size_classes) {
  EXPECT_EQ(allocation_size(1), 8u);
  EXPECT_EQ(allocation_size(17), 32u);
  EXPECT_EQ(allocation_size(128), 128u);
  EXPECT_EQ(allocation_size(129), 160u);
  EXPECT_EQ(allocation_size(270), 320u);
  EXPECT_EQ(allocation_size(4096), 4096u);
  EXPECT_EQ(allocation_size(4097), 5120u);
}

TEST(stream_slack, is_the_unused_part_of_the_last_nodes_preallocation) {
  // One node of ~300 bytes in a 4096-byte allocation: 4096 - 320.
  EXPECT_EQ(stream_slack(364, 5, 100, 4096), 4096u - 320u);
  // 250 entries closing nodes at 100 entries: the last holds 50 of them, a fifth of the bytes.
  EXPECT_EQ(stream_slack(64 + 10'000, 250, 100, 4096), 4096u - allocation_size(2'000));
  // Nodes full of bytes: the last holds the remainder.
  EXPECT_EQ(stream_slack(64 + 3 * 4096 + 1000, 50, 100, 4096), 4096u - allocation_size(1000));
  // A last node longer than the preallocation has no slack; nor an empty stream.
  EXPECT_EQ(stream_slack(64 + 5000, 10, 100, 8192), 0u);
  EXPECT_EQ(stream_slack(500, 0, 100, 4096), 0u);
  // stream-node-max-bytes below 4096 caps the preallocation.
  EXPECT_EQ(stream_slack(164, 1, 100, 1024), 1024u - 112u);
}

TEST(payload_rdb_version, reads_the_trailer) {
  // A DUMP of SET k v on Redis 7.0: type 0, "\x01v", RDB version 10, CRC64.
  const std::string dump("\x00\x01v\x0a\x00\x11\x22\x33\x44\x55\x66\x77\x88", 13);
  EXPECT_EQ(payload_rdb_version(dump), 10u);
  EXPECT_EQ(payload_rdb_version("short"), 0u);
}

TEST(notifications, the_classes_sync_needs) {
  EXPECT_EQ(missing_notification_flags(""), "Kg$lshzxetd");
  EXPECT_EQ(missing_notification_flags("KA"), "");
  EXPECT_EQ(missing_notification_flags("EA"), "");  // the keyevent channel serves as well
  EXPECT_EQ(missing_notification_flags("Ex"), "g$lshzetd");
  EXPECT_EQ(missing_notification_flags("Kg$lshzxetd"), "");
  EXPECT_EQ(notification_setting(""), "KA");
  EXPECT_EQ(notification_setting("Ex"), "ExKA");
  EXPECT_EQ(notification_setting("KA"), "KA");
}

TEST(pubsub_limit, reads_the_pubsub_class) {
  const auto defaults =
      pubsub_limit("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->hard, 33554432u);
  EXPECT_EQ(defaults->soft, 8388608u);
  EXPECT_EQ(defaults->soft_seconds, 60u);
  const auto units = pubsub_limit("pubsub 1mb 512kb 30");
  ASSERT_TRUE(units);
  EXPECT_EQ(units->hard, 1u << 20);
  EXPECT_EQ(units->soft, 512u << 10);
  EXPECT_FALSE(pubsub_limit("normal 0 0 0"));
  EXPECT_FALSE(pubsub_limit("pubsub 1mb"));
}

TEST(rdb_version_of, knows_the_versions_in_use) {
  node_info n;
  const auto of = [&](int major, int minor) {
    n.version = {major, minor};
    return rdb_version_of(n);
  };
  EXPECT_EQ(of(5, 0), 9u);
  EXPECT_EQ(of(6, 2), 9u);
  EXPECT_EQ(of(7, 0), 10u);
  EXPECT_EQ(of(7, 2), 11u);
  EXPECT_EQ(of(7, 4), 12u);
  EXPECT_EQ(of(8, 0), 12u);
  EXPECT_FALSE(of(9, 0));
  n.flavour = "valkey";
  n.valkey_version = "8.0.1";
  EXPECT_EQ(rdb_version_of(n), 11u);
}

}  // namespace
}  // namespace ferry::engine
