#include "protocol/wire/info.hpp"

#include <gtest/gtest.h>

namespace ferry::protocol {
namespace {

constexpr std::string_view sample =
    "# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\nredis_mode:standalone\r\n\r\n"
    "# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=1500\r\ndb3:keys=4,expires=0,avg_ttl=0\r\n";

TEST(info_field, finds_whole_field_names_in_any_section) {
  EXPECT_EQ(info_field(sample, "redis_version"), "7.0.15");
  EXPECT_EQ(info_field(sample, "run_id"), "abc123");
  EXPECT_FALSE(info_field(sample, "redis").has_value());  // a prefix is not a field
  EXPECT_FALSE(info_field(sample, "absent").has_value());
  EXPECT_EQ(info_text(sample, "absent", "none"), "none");
  EXPECT_EQ(info_field("a:1\nb:2", "b"), "2");  // bare newlines too
  EXPECT_EQ(info_field("empty:\r\n", "empty"), "");
}

TEST(parse_keyspace, reads_every_database_line) {
  const auto dbs = parse_keyspace(sample);
  ASSERT_EQ(dbs.size(), 2u);
  EXPECT_EQ(dbs[0].db, 0);
  EXPECT_EQ(dbs[0].keys, 10u);
  EXPECT_EQ(dbs[0].expires, 2u);
  EXPECT_EQ(dbs[0].avg_ttl_ms, 1500u);
  EXPECT_EQ(dbs[1].db, 3);
  EXPECT_EQ(dbs[1].keys, 4u);
  EXPECT_TRUE(parse_keyspace("db:keys=1\r\ndbx:keys=2\r\ndb1:expires=3\r\n").empty());
}

TEST(parse_server_version, reads_major_and_minor) {
  EXPECT_EQ(parse_server_version("7.0.15"), (server_version{7, 0}));
  EXPECT_EQ(parse_server_version("6.2.16"), (server_version{6, 2}));
  EXPECT_EQ(parse_server_version("255.255.255"), (server_version{255, 255}));
  EXPECT_EQ(parse_server_version("garbage"), (server_version{0, 0}));
  EXPECT_LT(parse_server_version("6.2.1"), parse_server_version("7.0.0"));
}

}  // namespace
TEST(info_numbers, read_whole_and_decimal_values) {
  constexpr std::string_view info =
      "used_memory:914472\r\nmem_fragmentation_ratio:13.46\r\nused_cpu_sys:0.004660\r\n"
      "maxmemory_policy:noeviction\r\nnegative:-1\r\n";
  EXPECT_EQ(info_unsigned(info, "used_memory"), 914472u);
  EXPECT_FALSE(info_unsigned(info, "mem_fragmentation_ratio").has_value());
  EXPECT_FALSE(info_unsigned(info, "negative").has_value());
  EXPECT_FALSE(info_unsigned(info, "absent").has_value());
  EXPECT_DOUBLE_EQ(*info_number(info, "mem_fragmentation_ratio"), 13.46);
  EXPECT_DOUBLE_EQ(*info_number(info, "used_cpu_sys"), 0.00466);
  EXPECT_DOUBLE_EQ(*info_number(info, "negative"), -1.0);
  EXPECT_FALSE(info_number(info, "maxmemory_policy").has_value());
}

TEST(parse_commandstats, reads_commands_and_subcommands) {
  constexpr std::string_view info =
      "# Commandstats\r\n"
      "cmdstat_set:calls=12,usec=30,usec_per_call=2.50,rejected_calls=1,failed_calls=2\r\n"
      "cmdstat_client|setname:calls=3,usec=9,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n"
      "cmdstat_get:calls=7,usec=5,usec_per_call=0.71\r\n"  // Redis 6.0 has no rejected/failed
      "cmdstat_:calls=1\r\nnot_a_stat:calls=1\r\n";
  const auto stats = parse_commandstats(info);
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0].name, "set");
  EXPECT_EQ(stats[0].calls, 12u);
  EXPECT_EQ(stats[0].usec, 30u);
  EXPECT_EQ(stats[0].rejected_calls, 1u);
  EXPECT_EQ(stats[0].failed_calls, 2u);
  EXPECT_EQ(stats[1].name, "client|setname");
  EXPECT_EQ(stats[1].calls, 3u);
  EXPECT_EQ(stats[2].name, "get");
  EXPECT_EQ(stats[2].calls, 7u);
  EXPECT_EQ(stats[2].rejected_calls, 0u);
}

TEST(parse_modules, reads_names_and_versions) {
  constexpr std::string_view info =
      "# Modules\r\n"
      "module:name=search,ver=20809,api=1,filters=0,usedby=[],using=[ReJSON],options=[]\r\n"
      "module:name=ReJSON,ver=20607,api=1,filters=0,usedby=[search],using=[],options=[]\r\n"
      "module:ver=1\r\n";
  const auto modules = parse_modules(info);
  ASSERT_EQ(modules.size(), 2u);
  EXPECT_EQ(modules[0].name, "search");
  EXPECT_EQ(modules[0].version, 20809u);
  EXPECT_EQ(modules[1].name, "ReJSON");
  EXPECT_TRUE(parse_modules("# Modules\r\n").empty());
}

}  // namespace ferry::protocol
