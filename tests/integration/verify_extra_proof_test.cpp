// `ferry verify`'s extra-key pass skipped when a count proves it unnecessary
// (engine/verify/extra_proof.hpp): only when the target's key count equals the keys the source
// pass found there and the target was not written meanwhile. An extra key planted so that the
// counts agree, or slipped in by a write during the check, is still found.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/verify_support.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

class verify_extra_proof_test : public ::testing::Test {
 protected:
  temp_dir dir_{"verify-extra-proof"};
};

TEST_F(verify_extra_proof_test, an_exact_copy_needs_no_target_scan_and_a_pattern_does) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 3000, 16, 7, "k:");
  fill_strings(target_client, 3000, 16, 7, "k:");
  const std::uint64_t exists_before = command_calls(source_client, "exists");

  const verify_run quiet(dir_, source.url(), target.url());
  ASSERT_EQ(quiet.result.exit_code, 0) << quiet.result.output();
  EXPECT_EQ(quiet.report()["extra_keys"]["pass"], "proven_unnecessary");
  EXPECT_EQ(quiet.totals()["checked"], 3000);
  EXPECT_EQ(quiet.totals()["target_scanned"], 0);
  EXPECT_THAT(quiet.result.out, HasSubstr("proven without a target scan"));
  // The point of it: no lookup of target keys on the source.
  EXPECT_EQ(command_calls(source_client, "exists"), exists_before);

  const verify_run matched(dir_, source.url(), target.url(), {"--match", "k:1*"});
  EXPECT_EQ(matched.result.exit_code, 0) << matched.result.output();
  EXPECT_EQ(matched.report()["extra_keys"]["pass"], "ran");
  EXPECT_THAT(matched.report()["extra_keys"]["why"].get<std::string>(), HasSubstr("--match"));
}

TEST_F(verify_extra_proof_test, an_extra_key_is_found_when_the_target_holds_as_many_keys) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const std::uint64_t exists_before = command_calls(source_client, "exists");
  fill_strings(source_client, 1000, 16, 3, "k:");
  fill_strings(target_client, 1000, 16, 3, "k:");
  target_client.checked({"DEL", "k:17"});
  target_client.checked({"SET", "only-on-the-target", "x"});
  ASSERT_EQ(source_client.checked({"DBSIZE"}).integer, target_client.checked({"DBSIZE"}).integer);

  const verify_run run(dir_, source.url(), target.url());
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.kinds(), (std::map<std::string, std::string>{{"k:17", "missing"},
                                                             {"only-on-the-target", "extra"}}));
  EXPECT_EQ(run.diffs().size(), 2u) << run.diff_text();
  EXPECT_EQ(run.report()["extra_keys"]["pass"], "ran");
  EXPECT_THAT(run.report()["extra_keys"]["why"].get<std::string>(),
              HasSubstr("holds 1000 keys and the source pass found 999"));
  EXPECT_EQ(run.totals()["target_scanned"], 1000);
  // Only the target's keys the comparison did not find there were looked up on the source.
  EXPECT_LE(command_calls(source_client, "exists"), exists_before + 2);
}

TEST_F(verify_extra_proof_test, a_write_during_the_check_that_keeps_the_counts_still_shows) {
  // The source pass reads every key, then waits --recheck-pause for the second look at a key
  // that differs. Meanwhile the target loses a key the pass already found there and gains one
  // the source lacks: its key count and the pass's count still agree; only its write counter
  // tells, and the extra key must be found.
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 1000, 16, 5, "k:");
  fill_strings(target_client, 1000, 16, 5, "k:");
  target_client.checked({"SET", "k:3", "differs"});
  // Every key's value is read (its expiry perhaps not: expiry_probe.hpp).
  const std::uint64_t reads_before = command_calls(target_client, "get");

  std::atomic<bool> written{false};
  std::thread writer([&] {
    sync_client c = target.client();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (std::chrono::steady_clock::now() < deadline) {
      if (command_calls(c, "get") >= reads_before + 1000) {
        c.checked({"DEL", "k:500"});
        c.checked({"SET", "slipped-in", "x"});
        written = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  });
  const verify_run run(dir_, source.url(), target.url(), {"--recheck-pause", "4000"});
  writer.join();
  ASSERT_TRUE(written) << "the writer never saw the first looks end: " << run.result.output();
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  const auto kinds = run.kinds();
  EXPECT_EQ(kinds.at("k:3"), "value") << run.diff_text();
  EXPECT_EQ(kinds.at("slipped-in"), "extra") << run.diff_text();
  EXPECT_EQ(run.report()["extra_keys"]["pass"], "ran");
  EXPECT_THAT(run.report()["extra_keys"]["why"].get<std::string>(), HasSubstr("written"));
}

TEST_F(verify_extra_proof_test, a_target_without_a_save_counter_gets_the_full_pass) {
  FERRY_SKIP_UNLESS_SERVER("6.2");
  redis_server source;
  server_options old;
  old.version = "6.2";
  redis_server target(old);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 500, 16, 9, "k:");
  fill_strings(target_client, 500, 16, 9, "k:");
  const verify_run run(dir_, source.url(), target.url());
  EXPECT_EQ(run.result.exit_code, 0) << run.result.output();
  EXPECT_EQ(run.report()["extra_keys"]["pass"], "ran");
  EXPECT_THAT(run.report()["extra_keys"]["why"].get<std::string>(), HasSubstr("rdb_saves"));
  EXPECT_EQ(run.totals()["target_scanned"], 500);
}

}  // namespace
}  // namespace ferry::testing
