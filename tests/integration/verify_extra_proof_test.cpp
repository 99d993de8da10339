// `ferry verify`'s extra-key pass skipped when a count proves it unnecessary
// (engine/verify/extra_proof.hpp): only when the target's key count equals the keys the source
// pass found there and the target was not written meanwhile. An extra key planted so that the
// counts agree, or slipped in by a write during the check, is still found. A source written
// during the check (a live one) has the target scanned beside the comparison, and the keys
// looked up on the source are still only those the comparison did not find.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/integration/verify_support.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/redis_cluster.hpp"
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
  // Nothing was written: the watch never started the target's scan beside the comparison.
  EXPECT_EQ(quiet.report()["extra_keys"]["scanned_beside_comparison"], false);
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

/// A verify of 3000 keys while the source takes a write every 20 ms for the whole check; one
/// differing key (k:3) keeps the comparison waiting for its re-check (--recheck-pause), long
/// past the watch's 250 ms. With `extra`, the target also holds a key the source lacks.
struct live_check {
  std::unique_ptr<verify_run> run;
  /// EXISTS calls the source received during the check.
  std::uint64_t lookups = 0;
};

live_check verify_while_the_source_is_written(const temp_dir& dir, const char* extra) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 3000, 16, 11, "k:");
  fill_strings(target_client, 3000, 16, 11, "k:");
  target_client.checked({"SET", "k:3", "differs"});
  if (extra != nullptr) target_client.checked({"SET", extra, "x"});
  const std::uint64_t exists_before = command_calls(source_client, "exists");
  std::atomic<bool> done{false};
  std::thread writer([&] {
    sync_client c = source.client();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    for (int i = 0; !done && std::chrono::steady_clock::now() < deadline; ++i) {
      c.checked({"SET", fmt::format("written-during:{}", i % 20), "x"});
      std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
  });
  live_check out;
  out.run = std::make_unique<verify_run>(dir, source.url(), target.url(),
                                         std::vector<std::string>{"--recheck-pause", "1500"});
  done = true;
  writer.join();
  out.lookups = command_calls(source_client, "exists") - exists_before;
  return out;
}

/// The differences of a check of verify_while_the_source_is_written: k:3's value, `extra` if
/// given, and the written-during keys the source pass saw (missing on the target), each once.
void expect_live_differences(const verify_run& run, const char* extra) {
  const auto kinds = run.kinds();
  EXPECT_EQ(kinds.at("k:3"), "value") << run.diff_text();
  if (extra != nullptr) {
    EXPECT_EQ(kinds.at(extra), "extra") << run.diff_text();
  }
  for (const auto& [key, kind] : kinds) {
    if (key == "k:3" || (extra != nullptr && key == extra)) continue;
    EXPECT_EQ(key.rfind("written-during:", 0), 0u) << key << " " << kind;
    EXPECT_EQ(kind, "missing") << key;
  }
  EXPECT_EQ(run.diffs().size(), kinds.size()) << "a key listed twice: " << run.diff_text();
}

TEST_F(verify_extra_proof_test, a_live_source_has_the_target_scanned_beside_the_comparison) {
  // The target holds one key the source lacks, so the count fails: the target's scan, begun
  // beside the comparison, is used, and only the keys the comparison did not find there are
  // looked up on the source.
  const live_check live = verify_while_the_source_is_written(dir_, "only-on-the-target");
  const verify_run& run = *live.run;
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  expect_live_differences(run, "only-on-the-target");
  EXPECT_EQ(run.report()["extra_keys"]["pass"], "ran");
  EXPECT_EQ(run.report()["extra_keys"]["scanned_beside_comparison"], true) << run.result.output();
  EXPECT_THAT(run.result.out, HasSubstr("target scanned beside the comparison"));
  EXPECT_EQ(run.totals()["target_scanned"], 3001);
  EXPECT_LE(live.lookups, 2u);
}

TEST_F(verify_extra_proof_test, a_live_source_that_keeps_the_count_drops_the_early_scan) {
  // The source's writes add keys only: the count still proves the target free of extra keys,
  // and what the early scan found is dropped without a lookup.
  const live_check live = verify_while_the_source_is_written(dir_, nullptr);
  const verify_run& run = *live.run;
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  expect_live_differences(run, nullptr);
  EXPECT_EQ(run.report()["extra_keys"]["pass"], "proven_unnecessary") << run.result.output();
  EXPECT_EQ(run.report()["extra_keys"]["scanned_beside_comparison"], true);
  EXPECT_THAT(run.result.out, HasSubstr("the target's scan begun beside the comparison was dropped"));
  EXPECT_EQ(live.lookups, 0u);
}

TEST_F(verify_extra_proof_test, cluster_sides_prove_per_master_and_find_a_hidden_extra_key) {
  cluster_options options;
  options.masters = 3;
  redis_cluster source(options);
  redis_cluster target(options);
  cluster_client source_client = source.client();
  cluster_client target_client = target.client();
  fill_strings(source_client, 3000, 16, 13, "k:");
  fill_strings(target_client, 3000, 16, 13, "k:");

  const verify_run quiet(dir_, source.url(), target.url());
  ASSERT_EQ(quiet.result.exit_code, 0) << quiet.result.output() << quiet.diff_text();
  EXPECT_EQ(quiet.report()["extra_keys"]["pass"], "proven_unnecessary") << quiet.result.output();
  EXPECT_EQ(quiet.totals()["checked"], 3000);
  EXPECT_EQ(quiet.totals()["target_scanned"], 0);

  // One key fewer and one the source lacks, on another master: the total count still agrees,
  // and the extra key must be found on its own master's scan.
  target_client.checked({"DEL", "k:17"});
  const auto& span = target.slots_of(2).front();
  const std::string extra = key_in_slots(span.first, span.last, "only-on-the-target-");
  target_client.checked({"SET", extra, "x"});
  const verify_run found(dir_, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(),
            (std::map<std::string, std::string>{{"k:17", "missing"}, {extra, "extra"}}))
      << found.diff_text();
  EXPECT_EQ(found.diffs().size(), 2u) << found.diff_text();
  EXPECT_EQ(found.report()["extra_keys"]["pass"], "ran");
  EXPECT_EQ(found.totals()["target_scanned"], 3000);
}

}  // namespace
}  // namespace ferry::testing
