// `ferry import` of the RDB files BGSAVE writes on every server version the machine has (5.0,
// 6.2, 7.0, 7.4, Valkey 8.0): each file (the committed fixture of that version's types and
// encodings, fill_every_type where the version has its commands, function libraries, 2,000
// small strings, keys in databases 0 and 1) into a standalone TLS target, both databases, and
// into a 3-master TLS cluster, database 0. The oracle is the servers' own DEBUG DIGEST (a
// cluster's masters combined) and FUNCTION LIST, never ferry's counters.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/import_support.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

class import_versions : public ::testing::TestWithParam<std::string> {
 protected:
  temp_dir dir_{"import-versions"};
  tls_material tls_;

  /// The target's version: the file's own, or Debian's 7.0 for 5.0 (which has no TLS).
  std::string target_version(const redis_server& source) const {
    return source.build().has_tls() ? GetParam() : std::string();
  }
  std::vector<std::string> args(const std::filesystem::path& file, const std::string& target,
                                std::vector<std::string> more) const {
    std::vector<std::string> a{"import",     file.string(),
                               "--target",   target,
                               "--cacert",   tls_.ca().cert.string(),
                               "--report",   (dir_ / "report.json").string(),
                               "--progress", "never"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }
};

std::size_t library_count(sync_client& c) {
  return c.checked({"FUNCTION", "LIST"}).elements.size();
}

TEST_P(import_versions, bgsave_files_into_a_tls_server_and_a_tls_cluster) {
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  auto source = versioned_source(GetParam(), 2'000);
  sync_client src = source->client();
  const std::int64_t keys0 = keys_in(src, 0), keys1 = keys_in(src, 1);
  ASSERT_GT(keys0, 2'000);
  ASSERT_GT(keys1, 0);
  const auto file = dir_ / "dump.rdb";
  std::filesystem::copy_file(source->save_rdb(), file);
  const bool functions = source->build().has_redis7_commands();

  {
    SCOPED_TRACE("standalone TLS target");
    server_options o;
    o.version = target_version(*source);
    o.tls = make_server_tls(tls_);
    redis_server target(o);
    sync_client dst = target.client();
    const ferry_result zero = run_ferry(args(file, target.url(), {"--db", "0"}));
    ASSERT_EQ(zero.exit_code, 0) << zero.output();
    EXPECT_EQ(report()["totals"]["imported"], keys0);
    EXPECT_EQ(report()["file"]["rdb_version"], source->build().rdb_version());
    EXPECT_EQ(report()["file"]["checksum_checked"], true);
    const ferry_result one = run_ferry(args(file, target.url(), {"--db", "1", "--target-db", "1"}));
    ASSERT_EQ(one.exit_code, 0) << one.output();
    EXPECT_EQ(report()["totals"]["imported"], keys1);
    // Both databases: the whole server's digest.
    EXPECT_EQ(debug_digest(dst), debug_digest(src));
    if (functions) {
      EXPECT_EQ(library_count(dst), library_count(src));
    }
  }

  // The cluster has database 0 only; the source keeps only that one, so the digests compare.
  src.checked({"SELECT", "1"});
  src.checked({"FLUSHDB"});
  src.checked({"SELECT", "0"});
  {
    SCOPED_TRACE("3-master TLS cluster");
    cluster_options o;
    o.masters = 3;
    o.node.version = target_version(*source);
    o.node.tls = make_server_tls(tls_);
    redis_cluster cluster(o);
    const ferry_result run = run_ferry(args(file, cluster.url(), {"--db", "0"}));
    ASSERT_EQ(run.exit_code, 0) << run.output();
    EXPECT_EQ(report()["totals"]["imported"], keys0);
    cluster_client dst = cluster.client();
    EXPECT_EQ(debug_digest(dst), debug_digest(src));
    if (functions) {
      for (const auto& master : cluster.masters()) {
        sync_client m = master->client();
        EXPECT_EQ(library_count(m), library_count(src)) << master->url();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(versions, import_versions, ::testing::ValuesIn(known_server_versions()),
                         [](const auto& param_info) { return param_name(param_info.param); });

}  // namespace
}  // namespace ferry::testing
