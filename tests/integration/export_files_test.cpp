// `ferry export` checked by real servers loading its file: redis-server started on the exported
// file (--dir/--dbfilename, the harness's rdb_file) must hold what the source held, by the
// independent oracle (DEBUG DIGEST, the sorted per-key dump, FUNCTION LIST), for the mixed
// dataset of every type and encoding, gzip'ed (unpacked by gzip itself), from a 3-master
// cluster, from the servers of every other version, and in an older RDB version when the
// rewrite is exact; a payload the asked version cannot hold stops the export with no file.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/integration/import_support.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

class export_files : public ::testing::Test {
 protected:
  temp_dir dir_{"export"};

  /// ferry export --source URL --output FILE ... with a report and no progress line.
  std::vector<std::string> args(const std::string& source, const std::filesystem::path& output,
                                std::vector<std::string> more = {}) const {
    std::vector<std::string> a{"export",
                               "--source",
                               source,
                               "--output",
                               output.string(),
                               "--report",
                               (dir_ / "report.json").string(),
                               "--progress",
                               "never"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }
};

/// A server of `version` ("" for the default) started on `file`.
std::unique_ptr<redis_server> loaded_from(const std::filesystem::path& file,
                                          const std::string& version = "") {
  server_options o;
  o.version = version;
  o.rdb_file = file;
  return std::make_unique<redis_server>(o);
}

std::size_t library_count(sync_client& c) {
  return c.checked({"FUNCTION", "LIST"}).elements.size();
}

TEST_F(export_files, the_mixed_dataset_loads_in_redis_server_with_the_same_digest) {
  redis_server source;
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 30;
  const fill_result filled = fill_every_type(src, data);
  fill_strings(src, 5'000, 100, 7);
  src.checked({"FUNCTION", "LOAD", test_library});
  const std::string digest = debug_digest(src);
  const keyspace expected = dump_keyspace(src);

  const auto file = dir_ / "out.rdb";
  const ferry_result run = run_ferry(args(source.url(), file));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_THAT(run.out, HasSubstr("not a point-in-time snapshot"));
  const auto r = report();
  EXPECT_EQ(r["status"], "complete");
  EXPECT_EQ(r["totals"]["exported"], filled.keys + 5'000);
  EXPECT_EQ(r["file"]["bytes"], std::filesystem::file_size(file));
  EXPECT_EQ(r["file"]["rdb_version"], source.build().rdb_version());
  EXPECT_EQ(r["file"]["functions"], 1);
  EXPECT_EQ(r["point_in_time"], false);

  auto loaded = loaded_from(file);
  sync_client l = loaded->client();
  EXPECT_EQ(debug_digest(l), digest);
  EXPECT_EQ(diff_keyspaces(expected, dump_keyspace(l)), "");
  EXPECT_EQ(library_count(l), 1u);
  // No temporary file is left beside the output.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_.path())) ++entries;
  EXPECT_EQ(entries, 2u);  // out.rdb, report.json

  // gzip: unpacked by gzip itself (the test does not trust ferry's zlib code), then loaded.
  const auto gz = dir_ / "out.rdb.gz";
  const ferry_result zipped = run_ferry(args(source.url(), gz));
  ASSERT_EQ(zipped.exit_code, 0) << zipped.output();
  EXPECT_EQ(report()["file"]["gzip"], true);
  ASSERT_LT(std::filesystem::file_size(gz), std::filesystem::file_size(file));
  const auto unpacked = dir_ / "unpacked.rdb";
  ASSERT_EQ(std::system(("gzip -dc " + gz.string() + " > " + unpacked.string()).c_str()), 0);
  auto from_gz = loaded_from(unpacked);
  sync_client g = from_gz->client();
  EXPECT_EQ(debug_digest(g), digest);
}

TEST_F(export_files, a_cluster_becomes_one_file) {
  cluster_options o;
  o.masters = 3;
  redis_cluster cluster(o);
  cluster_client c = cluster.client();
  dataset_options data;
  data.count_per_kind = 20;
  const fill_result filled = fill_every_type(c, data);
  fill_strings(c, 3'000, 60, 3);
  const std::string digest = debug_digest(c);
  const keyspace expected = dump_keyspace(c);

  const auto file = dir_ / "cluster.rdb";
  const ferry_result run = run_ferry(args(cluster.url(), file));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(report()["shards"].size(), 3u);
  EXPECT_EQ(report()["totals"]["exported"], filled.keys + 3'000);

  auto loaded = loaded_from(file);
  sync_client l = loaded->client();
  EXPECT_EQ(debug_digest(l), digest);
  EXPECT_EQ(diff_keyspaces(expected, dump_keyspace(l)), "");
}

TEST_F(export_files, an_older_version_only_when_the_rewrite_is_exact) {
  FERRY_SKIP_UNLESS_SERVER("6.2");
  redis_server source;  // Debian's 7.0: RDB 10
  sync_client src = source.client();
  fill_strings(src, 2'000, 50, 5);
  // Strings hold no encoding that RDB 10 added: their payloads are exact in RDB 9.
  const auto file = dir_ / "v9.rdb";
  const ferry_result run = run_ferry(args(source.url(), file, {"--rdb-version", "9"}));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(report()["file"]["rdb_version"], 9);
  EXPECT_EQ(report()["downgraded"], 2'000);
  auto loaded = loaded_from(file, "6.2");
  sync_client l = loaded->client();
  EXPECT_EQ(debug_digest(l), debug_digest(src));

  // A listpack hash (RDB 10's encoding) cannot be written in RDB 9: no file at all.
  src.checked({"HSET", "small-hash", "f", "v"});
  const auto refused_file = dir_ / "refused.rdb";
  const ferry_result refused = run_ferry(args(source.url(), refused_file, {"--rdb-version", "9"}));
  EXPECT_EQ(refused.exit_code, 2) << refused.output();
  EXPECT_THAT(refused.err, HasSubstr("small-hash"));
  EXPECT_THAT(refused.err, HasSubstr("was not written"));
  EXPECT_FALSE(std::filesystem::exists(refused_file));
  EXPECT_EQ(report()["file"]["written"], false);
}

class export_versions : public ::testing::TestWithParam<std::string> {
 protected:
  temp_dir dir_{"export-versions"};
};

TEST_P(export_versions, the_file_loads_in_the_same_version) {
  FERRY_SKIP_UNLESS_SERVER(GetParam());
  auto source = versioned_source(GetParam(), 2'000);
  sync_client src = source->client();
  // The fixture holds a second database; this export is of database 0 alone.
  src.checked({"SELECT", "1"});
  src.checked({"FLUSHDB"});
  src.checked({"SELECT", "0"});
  const std::string digest = debug_digest(src);
  const std::int64_t keys = keys_in(src, 0);
  ASSERT_GT(keys, 2'000);

  const auto file = dir_ / "out.rdb";
  const ferry_result run =
      run_ferry({"export", "--source", source->url(), "--output", file.string(), "--report",
                 (dir_ / "report.json").string(), "--progress", "never"});
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto r = read_json(dir_ / "report.json");
  EXPECT_EQ(r["file"]["rdb_version"], source->build().rdb_version());
  EXPECT_EQ(r["totals"]["exported"], keys);

  auto loaded = loaded_from(file, GetParam());
  sync_client l = loaded->client();
  if (source->build().has_redis7_commands()) {
    EXPECT_EQ(debug_digest(l), digest);
    EXPECT_EQ(library_count(l), library_count(src));
  } else {
    // Before Redis 7 a source gives only PTTL, so an expiry crosses exact to a few ms only:
    // each key's TTL is compared within 2 s, then the expiries are dropped on both sides and
    // DEBUG DIGEST compares everything else exactly.
    const reply names = src.checked({"KEYS", "*"});
    ASSERT_EQ(static_cast<std::int64_t>(names.elements.size()), keys);
    std::size_t expiring = 0;
    for (const reply& name : names.elements) {
      const std::int64_t a = src.checked({"PTTL", name.str}).integer;
      const std::int64_t b = l.checked({"PTTL", name.str}).integer;
      if (a < 0) {
        EXPECT_EQ(b, a) << name.str;
        continue;
      }
      ++expiring;
      EXPECT_LE(std::llabs(a - b), 2'000) << name.str;
      src.checked({"PERSIST", name.str});
      l.checked({"PERSIST", name.str});
    }
    EXPECT_GT(expiring, 0u);
    EXPECT_EQ(debug_digest(l), debug_digest(src));
  }
}

INSTANTIATE_TEST_SUITE_P(versions, export_versions, ::testing::ValuesIn(known_server_versions()),
                         [](const auto& param_info) { return param_name(param_info.param); });

}  // namespace
}  // namespace ferry::testing
