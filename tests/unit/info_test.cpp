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
}  // namespace ferry::protocol
