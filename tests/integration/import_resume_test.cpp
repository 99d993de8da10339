// A long `ferry import` SIGKILLed in the middle and resumed from its state file ends exact (DEBUG
// DIGEST of the target equal to the source's), resuming from the file offset the state file
// recorded rather than from the start; the same after SIGTERM (a drain, exit code 3); a state
// file is not used for another file, and a finished import is not run again.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/integration/import_support.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

class import_resume : public ::testing::Test {
 protected:
  temp_dir dir_{"import-resume"};

  std::vector<std::string> args(const std::string& file, const std::string& target,
                                std::vector<std::string> more = {}) const {
    std::vector<std::string> a{"import",
                               file,
                               "--target",
                               target,
                               "--state",
                               (dir_ / "state.json").string(),
                               "--report",
                               (dir_ / "report.json").string(),
                               "--checkpoint-interval",
                               "0.2",
                               "--progress",
                               "never"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  }
  /// The state file's offset, 0 while there is none.
  std::uint64_t saved_offset() const {
    try {
      const auto state = read_json(dir_ / "state.json");
      return std::stoull(state["shards"][0]["cursor"].get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  /// Starts an import slowed to `rate` keys/s and stops it with `signal_number` once its state
  /// file has passed `offset`.
  ferry_result stop_midway(const std::string& file, const std::string& target, int signal_number,
                           std::uint64_t offset) {
    ferry_process run(args(file, target, {"--max-keys-per-sec", "40000"}), dir_.path());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (saved_offset() <= offset && run.running() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    EXPECT_TRUE(run.running()) << "the import ended before it could be stopped";
    run.signal(signal_number);
    return run.wait(std::chrono::seconds{60});
  }
};

TEST_F(import_resume, sigkill_then_resume_is_exact) {
  redis_server source;
  sync_client src = source.client();
  dataset_options data;
  data.count_per_kind = 20;
  fill_every_type(src, data);
  fill_strings(src, 150'000, 60, 11);
  const auto file = dir_ / "dump.rdb";
  std::filesystem::copy_file(source.save_rdb(), file);
  const auto size = std::filesystem::file_size(file);

  redis_server target;
  sync_client dst = target.client();
  const ferry_result killed = stop_midway(file.string(), target.url(), SIGKILL, size / 5);
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.output();
  const std::uint64_t offset = saved_offset();
  ASSERT_GT(offset, 0u);
  ASSERT_LT(offset, size);
  const std::int64_t held = dst.checked({"DBSIZE"}).integer;
  ASSERT_GT(held, 0);
  ASSERT_LT(held, src.checked({"DBSIZE"}).integer);

  const ferry_result resumed = run_ferry(args(file.string(), target.url(), {"--resume"}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  expect_exact_copy(src, dst);
  const auto r = read_json(dir_ / "report.json");
  EXPECT_EQ(r["resumed"], true);
  EXPECT_EQ(r["start_offset"], offset);
  EXPECT_EQ(r["totals"]["imported"], src.checked({"DBSIZE"}).integer);
  EXPECT_LT(r["this_run"]["imported"].get<std::int64_t>(), src.checked({"DBSIZE"}).integer);
  EXPECT_EQ(read_json(dir_ / "state.json")["status"], "complete");

  // Done is done: a second --resume imports nothing.
  const ferry_result again = run_ferry(args(file.string(), target.url(), {"--resume"}));
  EXPECT_EQ(again.exit_code, 0) << again.output();
  EXPECT_THAT(again.err, HasSubstr("records this import as complete"));
  EXPECT_EQ(read_json(dir_ / "report.json")["this_run"]["imported"], 0);
}

TEST_F(import_resume, sigterm_drains_and_resume_finishes_from_a_gzip_stream) {
  redis_server source;
  sync_client src = source.client();
  fill_strings(src, 120'000, 60, 12);
  const auto file = dir_ / "dump.rdb";
  std::filesystem::copy_file(source.save_rdb(), file);
  const auto gz = dir_ / "dump.rdb.gz";
  ASSERT_EQ(std::system(("gzip -c " + file.string() + " > " + gz.string()).c_str()), 0);

  redis_server target;
  sync_client dst = target.client();
  const ferry_result drained = stop_midway(gz.string(), target.url(), SIGTERM, 200'000);
  EXPECT_EQ(drained.exit_code, 3) << drained.output();
  EXPECT_THAT(drained.err, HasSubstr("--resume"));
  // A drain writes what it read: the state file covers every key on the target.
  const auto state = read_json(dir_ / "state.json");
  EXPECT_EQ(state["status"], "interrupted");
  EXPECT_EQ(state["shards"][0]["counts"]["copied"].get<std::int64_t>(),
            dst.checked({"DBSIZE"}).integer - marks_in(dst));

  const ferry_result resumed = run_ferry(args(gz.string(), target.url(), {"--resume"}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  expect_exact_copy(src, dst);
}

TEST_F(import_resume, a_state_file_is_not_used_for_another_file) {
  redis_server source;
  sync_client src = source.client();
  fill_strings(src, 100'000, 60, 13);
  const auto first = dir_ / "first.rdb";
  std::filesystem::copy_file(source.save_rdb(), first);
  redis_server target;
  const ferry_result killed = stop_midway(first.string(), target.url(), SIGKILL, 100'000);
  ASSERT_GT(saved_offset(), 0u);

  // The same path, another dump: the offsets of the first mean nothing in it.
  src.checked({"SET", "one-more", "key"});
  std::filesystem::copy_file(source.save_rdb(), first,
                             std::filesystem::copy_options::overwrite_existing);
  const ferry_result other = run_ferry(args(first.string(), target.url(), {"--resume"}));
  EXPECT_EQ(other.exit_code, 2) << other.output();
  EXPECT_THAT(other.err, HasSubstr("written for another RDB file"));

  // Another path is another job.
  const auto copy = dir_ / "copy.rdb";
  std::filesystem::copy_file(first, copy);
  const ferry_result moved = run_ferry(args(copy.string(), target.url(), {"--resume"}));
  EXPECT_EQ(moved.exit_code, 2) << moved.output();
  EXPECT_THAT(moved.err, HasSubstr("belongs to another job"));
}

}  // namespace
}  // namespace ferry::testing
