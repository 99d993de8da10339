// `ferry verify` on the hard cases: a key of a million elements compared with bounded memory,
// and a live source whose key keeps changing (reported as changed, not as a difference).

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>

#include "tests/integration/verify_support.hpp"
#include "tests/support/redis_server.hpp"

#ifndef FERRY_BINARY
#error "FERRY_BINARY must name the ferry executable"
#endif

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

// AddressSanitizer's allocator keeps freed memory for itself, so RSS says nothing there.
#if defined(__SANITIZE_ADDRESS__)
constexpr long rss_limit_kb = 1L << 30;
#else
constexpr long rss_limit_kb = 64 * 1024;
#endif

/// HSET `key` with fields f<i> = v<i> for i in [0, n), `ascending` or not, 1000 per command.
void fill_hash(sync_client& client, const std::string& key, std::size_t n, bool ascending) {
  std::vector<std::vector<std::string>> commands;
  for (std::size_t start = 0; start < n; start += 1000) {
    std::vector<std::string> hset{"HSET", key};
    for (std::size_t j = start; j < std::min(n, start + 1000); ++j) {
      const std::size_t i = ascending ? j : n - 1 - j;
      hset.push_back(fmt::format("f{}", i));
      hset.push_back(fmt::format("value-{}", i));
    }
    commands.push_back(std::move(hset));
  }
  for (const auto& answer : client.pipeline(commands))
    ASSERT_FALSE(answer.is_error()) << answer.str;
}

TEST(verify_scale, a_million_field_hash_is_compared_in_bounded_memory) {
  temp_dir dir("verify-million");
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  constexpr std::size_t fields = 1'000'000;
  fill_hash(source_client, "huge", fields, true);
  fill_hash(target_client, "huge", fields, false);  // same data, built the other way round
  source_client.checked({"SET", "small", "x"});
  target_client.checked({"SET", "small", "x"});

  const verify_run equal(dir, source.url(), target.url());
  ASSERT_EQ(equal.result.exit_code, 0) << equal.result.output() << equal.diff_text();
  EXPECT_EQ(equal.totals()["deep"], 1);  // the digests differed: compared field by field
  RecordProperty("max_rss_kb", static_cast<int>(equal.result.max_rss_kb));
  RecordProperty("seconds", static_cast<int>(equal.result.seconds));
  EXPECT_LT(equal.result.max_rss_kb, rss_limit_kb) << "ferry's peak RSS grew with the key's size";

  target_client.checked({"HSET", "huge", "f999999", "changed"});
  const verify_run found(dir, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(), (std::map<std::string, std::string>{{"huge", "value"}}));
  EXPECT_THAT(found.diffs().at(0)["detail"].get<std::string>(), HasSubstr("f999999"));
  EXPECT_THAT(found.diffs().at(0)["source"].get<std::string>(), HasSubstr("1000000 fields"));
  EXPECT_LT(found.result.max_rss_kb, rss_limit_kb);
}

TEST(verify_scale, a_key_that_keeps_changing_on_the_source_is_reported_as_changed) {
  temp_dir dir("verify-live");
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  for (sync_client* side : {&source_client, &target_client}) {
    side->checked({"SET", "hot", "0"});
    side->checked({"SET", "calm", "same"});
  }
  source_client.checked({"SET", "stale", "new"});
  target_client.checked({"SET", "stale", "old"});

  // A writer that never stops while ferry looks: the target can never catch up.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    sync_client live = source.client();
    while (!stop) live.checked({"INCR", "hot"});
  });
  const verify_run run(dir, source.url(), target.url(), {"--rounds", "3"});
  stop = true;
  writer.join();

  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.kinds(),
            (std::map<std::string, std::string>{{"hot", "changed"}, {"stale", "value"}}))
      << run.diff_text();
  for (const auto& line : run.diffs()) {
    EXPECT_EQ(line["rounds"], line["kind"] == "changed" ? 3 : 1) << line.dump();
  }
  EXPECT_EQ(run.totals()["changed"], 1);
  EXPECT_EQ(run.totals()["equal"], 1);
}

TEST(verify_scale, a_target_that_catches_up_before_the_recheck_is_not_reported) {
  temp_dir dir("verify-lag");
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  source_client.checked({"SET", "late", "new"});
  target_client.checked({"SET", "late", "old"});  // a sync has not applied it yet

  // The "sync" applies the change 0.8 s in; ferry looks again only after 2 s.
  std::thread sync([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds{800});
    target.client().checked({"SET", "late", "new"});
  });
  const verify_run run(dir, source.url(), target.url(), {"--recheck-pause", "2000"});
  sync.join();
  EXPECT_EQ(run.result.exit_code, 0) << run.result.output() << run.diff_text();
  EXPECT_TRUE(run.diffs().empty());
  EXPECT_EQ(run.totals()["rechecked"], 1);
  EXPECT_EQ(run.totals()["equal"], 1);
}

TEST(verify_scale, sigterm_stops_a_verify_even_in_a_long_recheck_pause) {
  temp_dir dir("verify-sigterm");
  redis_server source;
  redis_server target;
  source.client().checked({"SET", "differs", "a"});
  target.client().checked({"SET", "differs", "b"});
  // Ferry looks again at the differing key only after a minute; SIGTERM must not wait for it.
  ferry_process ferry({"verify", "--source", source.url(), "--target", target.url(),
                       "--recheck-pause", "60000", "--progress", "never"},
                      dir.path());
  std::this_thread::sleep_for(std::chrono::milliseconds{700});
  ferry.signal(SIGTERM);
  const ferry_result run = ferry.wait(std::chrono::seconds{20});
  EXPECT_EQ(run.exit_code, 3) << run.output();
  EXPECT_LT(run.seconds, 10) << run.output();
  EXPECT_THAT(run.err, HasSubstr("interrupted"));
  EXPECT_THAT(run.out, HasSubstr("interrupted"));
}

}  // namespace
}  // namespace ferry::testing
