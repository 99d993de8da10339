// `ferry import` of RDB files written by real servers (BGSAVE), checked by the independent
// oracle (DEBUG DIGEST, the sorted per-key dump with absolute expiries, FUNCTION LIST): a file of
// every type with functions into a TLS target, from stdin, gzip'ed, a file of several databases
// with and without --db, keys already expired, a target that already holds keys, a target that
// refuses RESTORE (struct mode writes every key), and damaged
// files (cut short, a wrong CRC64) refused before anything is written — or, streamed from stdin,
// refused at the damage with exactly what came before it imported.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/integration/import_support.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

class import_files : public ::testing::Test {
 protected:
  temp_dir dir_{"import"};
  tls_material tls_;

  server_options tls_server() const {
    server_options o;
    o.tls = make_server_tls(tls_);
    return o;
  }
  /// ferry import FILE --target URL ... with a report, failed keys and no progress line.
  std::vector<std::string> args(const std::string& file, const std::string& target,
                                std::vector<std::string> more = {}) const {
    std::vector<std::string> a{"import",        file,
                               "--target",      target,
                               "--cacert",      tls_.ca().cert.string(),
                               "--report",      (dir_ / "report.json").string(),
                               "--failed-keys", (dir_ / "failed.jsonl").string(),
                               "--progress",    "never"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }
  /// The source's BGSAVE file, copied out of its dir.
  std::filesystem::path saved(redis_server& source, const std::string& name = "dump.rdb") {
    const auto file = dir_ / name;
    std::filesystem::copy_file(source.save_rdb(), file,
                               std::filesystem::copy_options::overwrite_existing);
    return file;
  }
};

std::vector<std::string> libraries(sync_client& c) {
  std::vector<std::string> names;
  for (const reply& lib : c.checked({"FUNCTION", "LIST"}).elements) {
    for (std::size_t i = 0; i + 1 < lib.elements.size(); i += 2) {
      if (lib.elements[i].str == "library_name") names.push_back(lib.elements[i + 1].str);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(import_files, every_type_and_the_functions_into_a_tls_target) {
  redis_server source;
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 30;
  const fill_result filled = fill_every_type(src, data);
  fill_strings(src, 5'000, 100, 7);
  src.checked({"FUNCTION", "LOAD", test_library});
  const auto file = saved(source);

  redis_server target(tls_server());
  sync_client dst = target.client();
  const ferry_result run = run_ferry(args(file.string(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(src, dst);
  EXPECT_EQ(libraries(dst), libraries(src));
  EXPECT_EQ(libraries(dst), std::vector<std::string>{"ferrylib"});

  const auto r = report();
  const std::uint64_t keys = filled.keys + 5'000;
  EXPECT_EQ(r["status"], "complete");
  EXPECT_EQ(r["totals"]["scanned"], keys);
  EXPECT_EQ(r["totals"]["imported"], keys);
  EXPECT_EQ(r["totals"]["failed"], 0);
  EXPECT_EQ(r["totals"]["estimated"], keys);  // RESIZEDB's count
  EXPECT_EQ(r["file"]["checksum_checked"], true);
  EXPECT_EQ(r["file"]["rdb_version"], 10);
  EXPECT_EQ(r["file"]["bytes_read"], std::filesystem::file_size(file));
  EXPECT_EQ(r["functions"]["found"], 1);
  EXPECT_EQ(r["functions"]["restored"], 1);
  EXPECT_EQ(r["complete"], true);
  EXPECT_THAT(run.out, HasSubstr("ferry import complete"));
  // No mark of ferry's is left on the target.
  EXPECT_EQ(dst.checked({"DBSIZE"}).integer, src.checked({"DBSIZE"}).integer);
}

TEST_F(import_files, from_stdin_and_gzip_compressed) {
  redis_server source;
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 10;
  fill_every_type(src, data);
  fill_strings(src, 20'000, 50, 9);
  const auto file = saved(source);
  // gzip itself compresses: the test does not trust ferry's own zlib code to make the file.
  const auto gz = dir_ / "dump.rdb.gz";
  ASSERT_EQ(std::system(("gzip -c " + file.string() + " > " + gz.string()).c_str()), 0);
  ASSERT_LT(std::filesystem::file_size(gz), std::filesystem::file_size(file));

  {
    redis_server target(tls_server());
    sync_client dst = target.client();
    const ferry_result run = run_ferry(args(gz.string(), target.url()));
    ASSERT_EQ(run.exit_code, 0) << run.output();
    expect_exact_copy(src, dst);
    EXPECT_EQ(report()["file"]["gzip"], true);
    EXPECT_EQ(report()["file"]["bytes_read"], std::filesystem::file_size(gz));
  }
  for (const auto& piped : {file, gz}) {
    SCOPED_TRACE(piped.string());
    redis_server target(tls_server());
    sync_client dst = target.client();
    const ferry_result run =
        run_ferry(args("-", target.url()), std::chrono::seconds{120}, {}, piped);
    ASSERT_EQ(run.exit_code, 0) << run.output();
    expect_exact_copy(src, dst);
    // stdin is the file itself here (a regular file, not a pipe): its size is known.
    EXPECT_EQ(report()["file"]["size"], std::filesystem::file_size(piped));
    EXPECT_EQ(report()["totals"]["imported"], dst.checked({"DBSIZE"}).integer);
  }
}

TEST_F(import_files, a_file_of_several_databases_needs_db) {
  redis_server source;
  sync_client src = source.client();
  fill_strings(src, 300, 20, 1, "zero:");
  src.checked({"SELECT", "2"});
  fill_strings(src, 40, 20, 2, "two:");
  src.checked({"SELECT", "0"});
  const auto file = saved(source);

  redis_server target(tls_server());
  sync_client dst = target.client();
  const ferry_result refused = run_ferry(args(file.string(), target.url()));
  EXPECT_EQ(refused.exit_code, 2) << refused.output();
  EXPECT_THAT(refused.err, HasSubstr("db 0 (300 keys), db 2 (40 keys)"));
  EXPECT_THAT(refused.err, HasSubstr("--db N"));
  EXPECT_EQ(dst.checked({"DBSIZE"}).integer, 0);

  const ferry_result two = run_ferry(args(file.string(), target.url(), {"--db", "2"}));
  ASSERT_EQ(two.exit_code, 0) << two.output();
  src.checked({"SELECT", "2"});
  expect_exact_copy(src, dst, /*digest=*/false);  // DEBUG DIGEST mixes in the db number
  src.checked({"SELECT", "0"});
  EXPECT_EQ(dst.checked({"DBSIZE"}).integer, 40);
  EXPECT_EQ(report()["file"]["db"], 2);
  EXPECT_EQ(report()["file"]["databases"].size(), 2u);

  const ferry_result missing = run_ferry(args(file.string(), target.url(), {"--db", "5"}));
  EXPECT_EQ(missing.exit_code, 2) << missing.output();
  EXPECT_THAT(missing.err, HasSubstr("holds no keys in database 5"));

  // Streamed (no check pass), the first database is imported and the other one reported.
  redis_server second(tls_server());
  sync_client other = second.client();
  const ferry_result streamed =
      run_ferry(args("-", second.url()), std::chrono::seconds{60}, {}, file);
  EXPECT_EQ(streamed.exit_code, 1) << streamed.output();
  EXPECT_THAT(streamed.err, HasSubstr("db 2 (40 keys), which were NOT imported"));
  EXPECT_EQ(other.checked({"DBSIZE"}).integer, 300);
  EXPECT_EQ(report()["status"], "keys_left_behind");
}

TEST_F(import_files, keys_already_expired_are_skipped_and_counted) {
  redis_server source;
  sync_client src = source.client();
  fill_strings(src, 100, 10, 1, "lasting:");
  const std::int64_t soon = now_ms() + 1'500;
  for (int i = 0; i < 25; ++i) {
    src.checked({"SET", "brief:" + std::to_string(i), "v", "PXAT", std::to_string(soon)});
  }
  const std::int64_t later = now_ms() + 3'600'000;
  src.checked({"SET", "hour", "v", "PXAT", std::to_string(later)});
  const auto file = saved(source);
  while (now_ms() <= soon + 50) std::this_thread::sleep_for(std::chrono::milliseconds{50});

  redis_server target(tls_server());
  sync_client dst = target.client();
  const ferry_result run = run_ferry(args(file.string(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(report()["totals"]["scanned"], 126);
  EXPECT_EQ(report()["totals"]["expired"], 25);
  EXPECT_EQ(report()["totals"]["imported"], 101);
  EXPECT_EQ(dst.checked({"DBSIZE"}).integer, 101);
  EXPECT_EQ(dst.checked({"PEXPIRETIME", "hour"}).integer, later);
  EXPECT_EQ(dst.checked({"EXISTS", "brief:0"}).integer, 0);
  expect_exact_copy(src, dst);  // the source dropped them too
}

TEST_F(import_files, a_target_that_holds_keys_needs_on_existing) {
  redis_server source;
  sync_client src = source.client();
  fill_strings(src, 50, 10, 1, "k:");
  const auto file = saved(source);
  redis_server target(tls_server());
  sync_client dst = target.client();
  dst.checked({"SET", "k:0", "theirs"});
  dst.checked({"SET", "other", "x"});

  const ferry_result refused = run_ferry(args(file.string(), target.url()));
  EXPECT_EQ(refused.exit_code, 2) << refused.output();
  EXPECT_THAT(refused.err, HasSubstr("already holds 2 keys"));
  EXPECT_THAT(refused.err, HasSubstr("--on-existing"));
  EXPECT_EQ(dst.checked({"GET", "k:0"}).str, "theirs");

  const ferry_result skip = run_ferry(args(file.string(), target.url(), {"--on-existing", "skip"}));
  ASSERT_EQ(skip.exit_code, 0) << skip.output();
  EXPECT_EQ(report()["totals"]["skipped"], 1);
  EXPECT_EQ(report()["totals"]["imported"], 49);
  EXPECT_EQ(dst.checked({"GET", "k:0"}).str, "theirs");

  const ferry_result replace =
      run_ferry(args(file.string(), target.url(), {"--on-existing", "replace"}));
  ASSERT_EQ(replace.exit_code, 0) << replace.output();
  EXPECT_EQ(dst.checked({"GET", "k:0"}).str, src.checked({"GET", "k:0"}).str);
  EXPECT_EQ(dst.checked({"DBSIZE"}).integer, 51);
}

TEST_F(import_files, damaged_files_are_refused_before_anything_is_written) {
  redis_server source;
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 10;
  fill_every_type(src, data);
  fill_strings(src, 10'000, 40, 4);
  const std::string bytes = slurp(saved(source));
  const auto cut = dir_ / "cut.rdb";
  spit(cut, bytes.substr(0, bytes.size() * 2 / 3));
  std::string flipped = bytes;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x20);
  const auto damaged = dir_ / "damaged.rdb";
  spit(damaged, flipped);
  std::string wrong_crc = bytes;
  wrong_crc.back() = static_cast<char>(wrong_crc.back() ^ 0x01);
  const auto bad_crc = dir_ / "bad-crc.rdb";
  spit(bad_crc, wrong_crc);

  redis_server target(tls_server());
  sync_client dst = target.client();
  for (const auto& file : {cut, damaged, bad_crc}) {
    SCOPED_TRACE(file.string());
    const ferry_result run = run_ferry(args(file.string(), target.url()));
    EXPECT_EQ(run.exit_code, 2) << run.output();
    EXPECT_THAT(run.err, HasSubstr(file.string()));
    EXPECT_THAT(run.err, HasSubstr("damaged or incomplete"));
    EXPECT_EQ(dst.checked({"DBSIZE"}).integer, 0);
    EXPECT_EQ(report()["totals"]["imported"], 0);
    EXPECT_EQ(report()["status"], "failed");
  }
  EXPECT_THAT(run_ferry(args(cut.string(), target.url())).err, HasSubstr("truncated"));
  EXPECT_THAT(run_ferry(args(bad_crc.string(), target.url())).err, HasSubstr("CRC64"));
}

TEST_F(import_files, a_cut_stream_imports_exactly_what_came_before_the_cut) {
  redis_server source;
  sync_client src = source.client();
  fill_strings(src, 30'000, 40, 5);
  const std::string bytes = slurp(saved(source));
  const auto cut = dir_ / "cut.rdb";
  spit(cut, bytes.substr(0, bytes.size() / 2));

  redis_server target(tls_server());
  sync_client dst = target.client();
  const ferry_result run = run_ferry(args("-", target.url()), std::chrono::seconds{60}, {}, cut);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("truncated"));
  // Nothing is claimed that is not on the target, and what is there is the source's. (The
  // failed job keeps its ferry:mark: keys, as a copy does, for a --resume to check the target.)
  std::int64_t held = 0;
  for (const auto& record : dump_keyspace(dst)) {
    if (record.key.rfind("ferry:mark:", 0) == 0) continue;
    ++held;
    ASSERT_EQ(record.value.front(), src.checked({"GET", record.key}).str) << record.key;
  }
  EXPECT_GT(held, 0);
  EXPECT_EQ(report()["totals"]["imported"], held);
  EXPECT_EQ(report()["complete"], false);
}

TEST_F(import_files, a_tls_target_refusing_restore_gets_every_key_by_type_commands) {
  // Found before the first key (each master is asked), said once, and every key written with
  // type commands (struct mode) from the file's decoded values.
  redis_server source;
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 5;
  const fill_result filled = fill_every_type(src, data);
  const auto file = saved(source);

  server_options o = tls_server();
  o.extra_args = {"--rename-command", "RESTORE", ""};
  redis_server target(o);
  sync_client dst = target.client();
  const ferry_result run = run_ferry(args(file.string(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_THAT(run.err, HasSubstr("refuses RESTORE"));
  expect_exact_copy(src, dst);
  const auto r = report();
  EXPECT_EQ(r["status"], "complete");
  EXPECT_EQ(r["totals"]["imported"], filled.keys);
  EXPECT_EQ(r["totals"]["struct_reasons"]["restore_refused"], filled.keys);
  EXPECT_EQ(r["complete"], true);
}

}  // namespace
}  // namespace ferry::testing
