// `ferry import` of the RDB files BGSAVE writes on every server version the machine has (5.0,
// 6.2, 7.0, 7.4, Valkey 8.0): each file (the committed fixture of that version's types and
// encodings, fill_every_type where the version has its commands, function libraries, 2,000
// small strings, keys in databases 0 and 1) into a standalone TLS target, both databases, and
// into a 3-master TLS cluster, database 0. The oracle is the servers' own DEBUG DIGEST (a
// cluster's masters combined) and FUNCTION LIST, never ferry's counters. And a 7.4 file into a
// 5.0 server: what the exact downgrade carries is restored, the rest written with type commands
// (struct mode), every key checked against the per-key dump.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <set>

#include "engine/runtime/key_text.hpp"
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

TEST(import_into_an_older_server, exact_downgrades_are_restored_the_rest_written_by_type_commands) {
  FERRY_SKIP_UNLESS_SERVER("7.4");
  FERRY_SKIP_UNLESS_SERVER("5.0");
  temp_dir dir{"import-older"};
  server_options from;
  from.version = "7.4";
  redis_server source(from);
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 5;
  data.with_expiry_fraction = 0;  // 5.0's expiries are read back as PTTL: not to the ms
  const fill_result filled = fill_every_type(src, data);
  const auto file = dir / "dump.rdb";
  std::filesystem::copy_file(source.save_rdb(), file);
  server_options to;
  to.version = "5.0";
  redis_server target(to);
  sync_client dst = target.client();

  const ferry_result run = run_ferry({"import", file.string(), "--target", target.url(), "--report",
                                      (dir / "report.json").string(), "--failed-keys",
                                      (dir / "failed.jsonl").string(), "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto r = read_json(dir / "report.json");
  const auto& totals = r["totals"];
  EXPECT_EQ(totals["imported"], filled.keys);
  EXPECT_EQ(totals["failed"], 0);
  EXPECT_EQ(r["needs_struct"], 0);
  // Both ways were taken: payloads 5.0 reads once their trailer is rewritten, the rest (types
  // and encodings 5.0 does not know) with type commands.
  EXPECT_GT(totals["by_method"]["downgraded"], 0) << run.output();
  EXPECT_GT(totals["by_method"]["struct"], 0) << run.output();
  EXPECT_EQ(totals["struct_reasons"]["bad_payload"], totals["by_method"]["struct"]);
  // The oracle: every key, as 5.0 can hold it. 5.0 prints a zset's scores with %.17g, 7.4 in
  // the shortest form that reads back the same: the numbers are compared. Before 7.0 a stream
  // has no entries-added / max-deleted-id / recorded-first-id and a group no entries-read;
  // before 6.2 a consumer exists only through its pending entries.
  const auto as_held = [](keyspace keys) {
    keyspace out;
    for (key_record& k : keys) {
      if (k.type == "zset") {
        for (std::size_t i = 1; i < k.value.size(); i += 2) {
          k.value[i] = fmt::format("{}", std::strtod(k.value[i].c_str(), nullptr));
        }
      }
      if (k.type == "stream") {
        std::vector<std::string> items;
        for (std::string& item : k.value) {
          if (item.rfind("meta ", 0) == 0) {
            item = std::regex_replace(
                item,
                std::regex(" (max-deleted-entry-id|entries-added|recorded-first-entry-id)=\\S+"),
                "");
          }
          if (item.rfind("group ", 0) == 0) {
            item = std::regex_replace(item, std::regex(" (entries-read|consumers)=\\S+"), "");
          }
          if (item.rfind("consumer ", 0) == 0 && item.ends_with(" pending=0")) continue;
          items.push_back(std::move(item));
        }
        k.value = std::move(items);
      }
      out.push_back(std::move(k));
    }
    return out;
  };
  EXPECT_EQ(diff_keyspaces(as_held(dump_keyspace(src)), as_held(dump_keyspace(dst))), "");
  EXPECT_EQ(dst.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
}

}  // namespace
}  // namespace ferry::testing
