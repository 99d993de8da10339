// What ferry records must be recorded, and what it leaves behind must be said: a failed-keys
// file that cannot be written stops the job, output paths are checked before anything is
// touched, keys in other databases make the exit code 1, a job is the same job whichever way
// its password is given, and nonsense tuning values are refused with their range.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class honest_outputs_test : public ::testing::Test {
 protected:
  temp_dir dir_{"honest-outputs"};
  std::filesystem::path report_ = dir_ / "report.json";

  static std::vector<std::string> copy(const redis_server& source, const redis_server& target,
                                       std::vector<std::string> extra = {}) {
    std::vector<std::string> all{"copy",       "--source",   source.url(), "--target",
                                 target.url(), "--progress", "never"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
};

TEST_F(honest_outputs_test, a_failed_keys_file_that_cannot_be_written_stops_the_job) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 2'000, 20, 1);
  fill_strings(target_client, 2'000, 20, 2);  // the same names: every key fails
  // /dev/full takes the file open but refuses every write with ENOSPC, like a full disk.
  const ferry_result run =
      run_ferry(copy(source, target, {"--on-existing", "fail", "--failed-keys", "/dev/full"}), 60s);
  // Before the fix: "2,000 key(s) could not be copied; they are listed in /dev/full", exit 1.
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("cannot write to the failed-keys file '/dev/full'"));
  EXPECT_THAT(run.err, HasSubstr("No space left on device"));
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr("are listed in")));
}

TEST_F(honest_outputs_test, an_unwritable_report_path_is_refused_before_the_target_is_touched) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 500, 20, 3);
  const std::string missing = (dir_ / "no-such-dir" / "report.json").string();
  const ferry_result run = run_ferry(copy(source, target, {"--report", missing}), 30s);
  // Before the fix: the whole copy ran, "complete" was printed, then exit 2 (and a rerun was
  // refused because the target was no longer empty).
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("--report"));
  EXPECT_THAT(run.err, HasSubstr("does not exist"));
  EXPECT_EQ(target.client().checked({"DBSIZE"}).integer, 0);

  const ferry_result state =
      run_ferry(copy(source, target, {"--state", (dir_ / "no-such-dir" / "s.json").string()}), 30s);
  EXPECT_EQ(state.exit_code, 2) << state.output();
  EXPECT_THAT(state.err, HasSubstr("--state"));
  EXPECT_EQ(target.client().checked({"DBSIZE"}).integer, 0);
}

TEST_F(honest_outputs_test, keys_in_other_databases_are_reported_and_make_the_exit_code_1) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 300, 20, 4);
  source_client.checked({"SELECT", "3"});
  fill_strings(source_client, 120, 20, 5, "db3:");
  source_client.checked({"SELECT", "0"});
  const ferry_result run = run_ferry(copy(source, target, {"--report", report_.string()}), 60s);
  // Before the fix: exit 0 with warnings: [] and db 3 gone.
  EXPECT_EQ(run.exit_code, 1) << run.output();
  EXPECT_THAT(run.err, HasSubstr("db 3 (120 keys)"));
  EXPECT_THAT(run.err, HasSubstr("--source-db"));
  const auto report = read_json(report_);
  EXPECT_EQ(report["status"], "keys_left_behind");
  ASSERT_EQ(report["left_behind"].size(), 1u);
  EXPECT_EQ(report["left_behind"][0]["db"], 3);
  EXPECT_EQ(report["left_behind"][0]["keys"], 120);
  EXPECT_EQ(target.client().checked({"DBSIZE"}).integer, 300);

  // Said to stay behind: exit 0, still reported.
  redis_server other_target;
  const ferry_result ignored = run_ferry(copy(source, other_target, {"--ignore-other-dbs"}), 60s);
  EXPECT_EQ(ignored.exit_code, 0) << ignored.output();
  EXPECT_THAT(ignored.err, HasSubstr("stay behind in db 3"));
}

TEST_F(honest_outputs_test, moving_the_password_from_the_url_to_a_file_is_the_same_job) {
  server_options secured;
  secured.password = "Src-Pw-4tXq";
  redis_server source(secured);
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 30'000, 50, 6);
  const auto state = (dir_ / "state.json").string();
  {
    ferry_process ferry(
        copy(source, target,
             {"--state", state, "--checkpoint-interval", "0.2", "--max-keys-per-sec", "8000"}),
        dir_.path());
    std::this_thread::sleep_for(1500ms);
    ferry.signal(SIGINT);
    ASSERT_EQ(ferry.wait(30s).exit_code, 3);
  }
  const auto password_file = dir_ / "source-password";
  std::ofstream(password_file) << "Src-Pw-4tXq\n";
  const std::string url_without = "redis://127.0.0.1:" + std::to_string(source.port());
  const ferry_result resumed =
      run_ferry({"copy", "--source", url_without, "--source-password-file", password_file.string(),
                 "--target", target.url(), "--state", state, "--resume", "--progress", "never"},
                120s);
  // Before the fix: refused as "another job" (the redacted URL text differed).
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output();
  sync_client target_client = target.client();
  expect_exact_copy(source_client, target_client);
}

TEST_F(honest_outputs_test, nonsense_tuning_values_are_refused_with_their_range) {
  for (const std::vector<std::string>& wrong :
       {std::vector<std::string>{"--max-inflight-bytes", "0"},
        std::vector<std::string>{"--max-inflight-bytes", "1"},
        std::vector<std::string>{"--batch-bytes", "0"}, std::vector<std::string>{"--threads", "0"},
        std::vector<std::string>{"--threads", "1000000"}}) {
    std::vector<std::string> args{"copy", "--source", "redis://127.0.0.1:1", "--target",
                                  "redis://127.0.0.1:2"};
    args.insert(args.end(), wrong.begin(), wrong.end());
    const ferry_result run = run_ferry(args, 10s);
    EXPECT_EQ(run.exit_code, 64) << wrong[0] << " " << wrong[1] << run.output();
    EXPECT_THAT(run.err, HasSubstr(wrong[0])) << run.output();
    EXPECT_THAT(run.err, HasSubstr("not in range")) << run.output();
  }
}

}  // namespace
}  // namespace ferry::testing
