// `ferry sync --cutover` pauses the source's writes, drains and ends with a target equal to the
// paused source; a source without the notification classes ferry needs is refused with the
// setting to enable (CONFIG GET), set and put back with --configure-notifications, and proven
// with probe keys where CONFIG is refused.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/sync_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class sync_cutover_test : public ::testing::Test {
 protected:
  temp_dir dir_{"sync-cutover"};
  std::filesystem::path state_ = dir_ / "state.json";
  std::filesystem::path report_ = dir_ / "report.json";

  std::vector<std::string> args(const std::string& source, const std::string& target,
                                std::vector<std::string> extra) const {
    std::vector<std::string> all{"sync",
                                 "--source",
                                 source,
                                 "--target",
                                 target,
                                 "--state",
                                 state_.string(),
                                 "--report",
                                 report_.string(),
                                 "--progress",
                                 "never",
                                 "--checkpoint-interval",
                                 "0.2"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  static std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

TEST_F(sync_cutover_test, cutover_pauses_the_source_drains_and_ends_exact) {
  server_options notifying;
  notifying.extra_args = {"--notify-keyspace-events", "KA"};
  redis_server source(notifying);
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  fill_strings(source_client, 5'000, 32, 21);
  // Writers keep writing through the cut-over; their writes wait while the source is paused.
  source_writers::options writing;
  writing.short_ttls = false;
  source_writers writers(
      [&] {
        client_options patient = source.connect_options();
        patient.timeout = 20s;
        return std::make_unique<sync_client>(patient);
      },
      writing);
  std::this_thread::sleep_for(300ms);
  const ferry_result run =
      run_ferry(args(source.url(), target.url(),
                     {"--cutover", "--settle", "500", "--pause-timeout", "8000", "--cutover-verify",
                      "200", "--ignore-other-dbs"}),
                120s);
  const std::int64_t ended = now_ms();
  ASSERT_EQ(run.exit_code, 0) << run.output();
  // The source is still paused: what it holds is what it accepted before the pause.
  const keyspace expected = dump_keyspace(source_client);
  const keyspace actual = dump_keyspace(target_client);
  const std::string source_digest = debug_digest(source_client);
  const std::string target_digest = debug_digest(target_client);
  const std::int64_t compared = now_ms();
  const auto report = read_json(report_);
  const auto& cutover = report["cutover"];
  ASSERT_TRUE(cutover.is_object()) << report.dump(2);
  EXPECT_EQ(report["status"], "cut_over");
  EXPECT_FALSE(cutover["switch_at"].get<std::string>().empty());
  EXPECT_GT(cutover["verified"].get<std::uint64_t>(), 50u);
  EXPECT_EQ(cutover["differences"], 0);
  EXPECT_THAT(run.out, HasSubstr("CUT-OVER at"));
  writers.stop();
  ASSERT_EQ(writers.error(), "");
  // The pause lasts 8 s from before ferry's end; the writers' paused commands return after it.
  EXPECT_LT(compared - ended, 5'000) << "the comparison must happen while the source is paused";
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(diff_keyspaces(expected, actual), "")
      << "cut-over " << cutover.dump() << "; ferry ended at " << ended << " ms";
  source_client.checked({"SELECT", "1"});
  const bool moved_keys = source_client.checked({"DBSIZE"}).integer != 0;
  source_client.checked({"SELECT", "0"});
  if (!moved_keys) {
    EXPECT_EQ(source_digest, target_digest);
  }
  EXPECT_GT(writers.ops(), 500u);
}

TEST_F(sync_cutover_test, a_source_without_the_needed_notifications_is_refused_with_the_setting) {
  redis_server source;  // notify-keyspace-events "" (the default)
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 100, 16, 22);
  source_client.checked({"CONFIG", "SET", "notify-keyspace-events", "Ex"});
  const ferry_result run = run_ferry(args(source.url(), target.url(), {"--until-converged"}), 60s);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("notify-keyspace-events 'xE'"));
  EXPECT_THAT(run.err, HasSubstr("CONFIG SET notify-keyspace-events xEKA"));
  EXPECT_THAT(run.err, HasSubstr("--configure-notifications"));
  EXPECT_EQ(target.client().checked({"DBSIZE"}).integer, 0) << "nothing written to the target";
}

TEST_F(sync_cutover_test, configure_notifications_sets_them_for_the_job_and_puts_them_back) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  const ferry_result run =
      run_ferry(args(source.url(), target.url(),
                     {"--configure-notifications", "--until-converged", "--settle", "500"}),
                60s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);
  EXPECT_EQ(source_client.checked({"CONFIG", "GET", "notify-keyspace-events"})[1].str, "");
  const auto notes = read_json(report_)["notes"];
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0].get<std::string>(), HasSubstr("put back to ''"));
}

TEST_F(sync_cutover_test, where_config_is_refused_probe_keys_prove_the_events_arrive) {
  server_options hidden;
  hidden.extra_args = {"--notify-keyspace-events", "KA", "--rename-command", "CONFIG", ""};
  redis_server source(hidden);
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client);
  const ferry_result run =
      run_ferry(args(source.url(), target.url(), {"--until-converged", "--settle", "500"}), 60s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_THAT(run.err, HasSubstr("probe keys proved"));
  EXPECT_EQ(source_client.checked({"KEYS", "ferry:probe:*"}).elements.size(), 0u);
  expect_exact_copy(source_client, target_client);
}

TEST_F(sync_cutover_test, where_config_is_refused_and_events_do_not_arrive_the_sync_is_refused) {
  server_options hidden;
  hidden.extra_args = {"--notify-keyspace-events", "Kg", "--rename-command", "CONFIG", ""};
  redis_server source(hidden);
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 100, 16, 23);
  const ferry_result run = run_ferry(args(source.url(), target.url(), {"--until-converged"}), 60s);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("do not arrive"));
  EXPECT_THAT(run.err, HasSubstr("'$lshzxt'"));
  EXPECT_THAT(run.err, HasSubstr("portal"));
  EXPECT_EQ(source_client.checked({"KEYS", "ferry:probe:*"}).elements.size(), 0u);
  // The probe runs once the job has marked the target (its subscriber must be reading): the
  // marks stay, as after any failed job, for a --resume to check; no key was copied.
  const auto left = target.client().checked({"KEYS", "*"});
  for (const auto& key : left.elements) EXPECT_THAT(key.str, ::testing::StartsWith("ferry:mark:"));
}

}  // namespace
}  // namespace ferry::testing
