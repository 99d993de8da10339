// The harness with servers of other versions (tests/support/server_versions.hpp): every build
// that is on this machine starts standalone (and TLS-only where the version has TLS), answers
// the harness's own client, reports the version it was asked for, and saves and loads RDB files;
// a 3-master cluster of an older version forms and routes. Builds that are absent are skipped
// with a line saying where they were looked for.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/process.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using namespace std::string_literals;

// INFO's own idea of the version: Valkey keeps redis_version at the Redis it is compatible with.
std::string reported_version(sync_client& client, const server_build& build) {
  const std::string info = client.checked({"INFO", "server"}).str;
  return info_field(info, build.valkey() ? "valkey_version" : "redis_version");
}

// A few commands every version has, binary-safe, through the harness's RESP2 client.
void expect_round_trip(sync_client& client) {
  const std::string key = "k\0\r\n\xff"s;
  EXPECT_TRUE(client.command({"SET", key, "v\0v"s}).is_ok());
  EXPECT_EQ(client.command({"GET", key}).str, "v\0v"s);
  EXPECT_EQ(client.command({"RPUSH", "list", "a", "b", "c"}).integer, 3);
  EXPECT_EQ(client.command({"LRANGE", "list", "0", "-1"}).elements.size(), 3u);
  // The oracle's command: refused on 7.0+ unless the harness enabled it.
  const reply digest = client.command({"DEBUG", "DIGEST"});
  EXPECT_FALSE(digest.is_error()) << digest.str;
  EXPECT_EQ(digest.str.size(), 40u);
}

class harness_version : public ::testing::TestWithParam<std::string> {};

TEST_P(harness_version, standalone_answers_as_its_version) {
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  server_options options;
  options.version = GetParam();
  options.password = "pa ss\"word";
  redis_server server(options);
  const server_build& build = server.build();
  EXPECT_EQ(build.name, GetParam());
  EXPECT_EQ(build.version.rfind(GetParam().substr(GetParam().find_first_of("0123456789")), 0), 0u)
      << build.description() << " answers for " << GetParam();
  sync_client client = server.client();
  EXPECT_EQ(reported_version(client, build), build.version);
  // The process runs the build's binary, not whatever redis-server is first in PATH.
  EXPECT_EQ(std::filesystem::read_symlink("/proc/" + std::to_string(server.pid()) + "/exe"),
            std::filesystem::canonical(build.server));
  expect_round_trip(client);
}

TEST_P(harness_version, tls_where_the_version_has_it) {
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  const server_build build = require_server_build(GetParam());
  if (!build.has_tls()) {
    // Asking for TLS from a version without it is a test bug: say so, do not start plain.
    tls_material material;
    server_options options;
    options.version = GetParam();
    options.tls = make_server_tls(material);
    EXPECT_THROW(redis_server{options}, std::invalid_argument);
    GTEST_SKIP() << build.description() << " has no TLS";
  }
  tls_material material;
  server_options options;
  options.version = GetParam();
  options.tls = make_server_tls(material, /*auth_clients=*/true);
  redis_server server(options);
  EXPECT_EQ(server.url().rfind("rediss://", 0), 0u);
  sync_client client = server.client();
  EXPECT_EQ(reported_version(client, build), build.version);
  expect_round_trip(client);
}

TEST_P(harness_version, saves_an_rdb_file_that_the_default_server_loads) {
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  server_options options;
  options.version = GetParam();
  redis_server source(options);
  fill_result filled;
  std::string digest;
  {
    sync_client client = source.client();
    if (source.build().at_least(6, 2)) {
      dataset_options data;
      data.count_per_kind = 5;
      data.big_per_kind = 1;
      filled = fill_every_type(client, data);
    } else {
      // fill_every_type's streams need XGROUP CREATECONSUMER (6.2): every type by hand here.
      filled = fill_strings(client, 50, 100);
      client.checked({"RPUSH", "list", "a", "b", "c"});
      client.checked({"SADD", "set", "1", "2", "x"});
      client.checked({"ZADD", "zset", "1.5", "a", "-inf", "b"});
      client.checked({"HSET", "hash", "f", "v"});
      client.checked({"XADD", "stream", "1-1", "f", "v"});
      client.checked({"XGROUP", "CREATE", "stream", "group", "0"});
      client.checked({"PEXPIREAT", "hash", std::to_string(now_ms() + 3'600'000)});
      filled.keys += 5;
    }
    digest = debug_digest(client);
  }
  const auto file = source.save_rdb();
  ASSERT_TRUE(std::filesystem::exists(file));

  // Older → newer always loads (RDB is forward compatible); a newer file than the default
  // server's own RDB version is refused by it, so it goes into a server of its own version.
  server_options loaded_options;
  loaded_options.rdb_file = file;
  if (source.build().rdb_version() > require_server_build("").rdb_version()) {
    loaded_options.version = GetParam();
  }
  redis_server loaded(loaded_options);
  sync_client client = loaded.client();
  EXPECT_EQ(client.checked({"DBSIZE"}).integer, static_cast<std::int64_t>(filled.keys));
  EXPECT_EQ(debug_digest(client), digest)
      << "loaded " << file << " into " << loaded.build().description();
}

INSTANTIATE_TEST_SUITE_P(versions, harness_version, ::testing::ValuesIn(known_server_versions()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name) {
                             if (c == '.' || c == '-') c = '_';
                           }
                           return name;
                         });

TEST(harness_versions, cluster_of_an_older_version_forms_and_routes) {
  FERRY_SKIP_UNLESS_SERVER("6.2");
  cluster_options options;
  options.node.version = "6.2";
  redis_cluster cluster(options);
  for (auto* node : cluster.nodes()) {
    sync_client client = node->client();
    EXPECT_EQ(info_field(client.checked({"INFO", "server"}).str, "redis_version"),
              node->build().version);
  }
  cluster_client client = cluster.client();
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(client.command({"SET", "key:" + std::to_string(i), std::to_string(i)}).is_ok());
  }
  std::int64_t total = 0;
  for (const auto& master : cluster.masters()) {
    const std::int64_t keys = master->client().checked({"DBSIZE"}).integer;
    EXPECT_GT(keys, 0) << "master on port " << master->port() << " got no key";
    total += keys;
  }
  EXPECT_EQ(total, 300);
}

TEST(harness_versions, an_absent_version_is_reported_with_where_to_put_it) {
  EXPECT_FALSE(find_server_build("9.9"));
  const std::string message = server_missing_message("9.9");
  EXPECT_NE(message.find("Redis 9.9 not found under"), std::string::npos) << message;
  EXPECT_NE(message.find("FERRY_TEST_SERVERS"), std::string::npos) << message;
  EXPECT_THROW(require_server_build("9.9"), std::runtime_error);
  EXPECT_THROW(find_server_build("latest"), std::invalid_argument);
}

TEST(harness_versions, ferry_test_servers_names_another_folder) {
  // A folder laid out like ../shared/servers, holding the default build under a made-up name.
  const server_build default_build = require_server_build("");
  const std::string major = std::to_string(default_build.redis_major);
  const std::string minor = std::to_string(default_build.redis_minor);
  temp_dir servers("servers");
  const auto bin = servers / ("redis-" + major + "." + minor + ".99") / "bin";
  std::filesystem::create_directories(bin);
  std::filesystem::create_symlink(default_build.server, bin / "redis-server");

  const char* before = std::getenv("FERRY_TEST_SERVERS");
  const std::string saved = before != nullptr ? before : "";
  ::setenv("FERRY_TEST_SERVERS", servers.path().c_str(), 1);
  const auto found = find_server_build(major + "." + minor);
  const auto dirs = server_search_dirs();
  if (before != nullptr) {
    ::setenv("FERRY_TEST_SERVERS", saved.c_str(), 1);
  } else {
    ::unsetenv("FERRY_TEST_SERVERS");
  }
  ASSERT_FALSE(dirs.empty());
  EXPECT_EQ(dirs.front(), servers.path());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->server, bin / "redis-server");
  EXPECT_EQ(found->version, default_build.version);
}

}  // namespace
}  // namespace ferry::testing
