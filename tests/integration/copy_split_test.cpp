// `ferry copy --shard-count N` as a user runs it without Kubernetes: on a standalone source (one
// master owning every slot) the parts are slot ranges of it; --shard-index defaults to
// JOB_COMPLETION_INDEX; the union of the parts is an exact copy (the keyspace oracle) and their
// copied counts add up to the source's keys; the options that cannot work are refused by name
// before any key moves; a state file of one part does not resume another.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "protocol/wire/slots.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

namespace fs = std::filesystem;

TEST(copy_split, a_standalone_source_is_split_into_slot_ranges_that_copy_it_once) {
  redis_server source;
  redis_server target;
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_every_type(source_admin);
  fill_strings(source_admin, 6'000, 50, 61);
  const auto keys = static_cast<std::uint64_t>(source_admin.checked({"DBSIZE"}).integer);
  temp_dir dir("copy-split");

  constexpr int parts = 2;
  protocol::slot_set covered;
  std::uint64_t copied = 0;
  for (int i = 0; i < parts; ++i) {
    SCOPED_TRACE(fmt::format("part {}", i));
    const fs::path report_file = dir / fmt::format("report-{}.json", i);
    // No --shard-index: JOB_COMPLETION_INDEX says which part, as in an Indexed Job's pod.
    const ferry_result run =
        run_ferry({"copy", "--source", source.url(), "--target", target.url(), "--shard-count",
                   std::to_string(parts), "--on-existing", "replace", "--state",
                   (dir / fmt::format("state-{}.json", i)).string(), "--resume-if-exists",
                   "--report", report_file.string(), "--progress", "never"},
                  std::chrono::seconds{120}, {{"JOB_COMPLETION_INDEX", std::to_string(i)}});
    ASSERT_EQ(run.exit_code, 0) << run.output();
    EXPECT_NE(run.out.find(fmt::format("part {} of {}", i, parts)), std::string::npos) << run.out;
    const auto report = read_json(report_file);
    const auto& part = report.at("part");
    EXPECT_EQ(part.at("index"), i);
    EXPECT_EQ(part.at("count"), parts);
    // One master for two parts: each takes a piece of it.
    EXPECT_FALSE(part.at("whole_masters").get<bool>());
    EXPECT_EQ(part.at("masters").size(), 1u);
    auto slots = protocol::parse_slot_text(part.at("slots").get<std::string>());
    ASSERT_TRUE(slots.has_value());
    EXPECT_EQ(slots->count(), 16384u / parts);
    EXPECT_TRUE((covered & *slots).none()) << "parts overlap";
    covered |= *slots;
    copied += report.at("totals").at("copied").get<std::uint64_t>();
    const auto state = read_json(dir / fmt::format("state-{}.json", i));
    EXPECT_EQ(state.at("job").at("part"), fmt::format("{}/{}", i, parts));
    EXPECT_EQ(state.at("part_slots"), part.at("slots"));
  }
  EXPECT_TRUE(covered.all());
  EXPECT_EQ(copied, keys) << "a key was copied by two parts, or by none";
  expect_exact_copy(source_admin, target_admin);

  // Part 0's state file does not resume part 1.
  const ferry_result other =
      run_ferry({"copy", "--source", source.url(), "--target", target.url(), "--shard-count", "2",
                 "--shard-index", "1", "--on-existing", "replace", "--state",
                 (dir / "state-0.json").string(), "--resume", "--progress", "never"});
  EXPECT_NE(other.exit_code, 0) << other.output();
  EXPECT_NE(other.err.find("--shard-index/--shard-count"), std::string::npos) << other.err;
}

TEST(copy_split, options_that_cannot_work_are_refused_before_any_key_moves) {
  redis_server source;
  redis_server target;
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_strings(source_admin, 100, 10, 62);
  const std::vector<std::string> base{"copy",       "--source",   source.url(), "--target",
                                      target.url(), "--progress", "never"};
  const auto refused = [&](std::vector<std::string> extra, const std::string& said,
                           const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    const ferry_result r = run_ferry(args, std::chrono::seconds{60}, env);
    EXPECT_EQ(r.exit_code, 64) << r.output();
    EXPECT_NE(r.err.find(said), std::string::npos) << r.err;
  };
  refused({"--shard-count", "3", "--on-existing", "replace"}, "--shard-index I");
  refused({"--shard-index", "1"}, "needs --shard-count");
  refused({"--shard-count", "3", "--shard-index", "3", "--on-existing", "replace"},
          "is not a part of --shard-count 3");
  refused({"--shard-count", "3", "--on-existing", "replace"}, "JOB_COMPLETION_INDEX 'x1'",
          {{"JOB_COMPLETION_INDEX", "x1"}});
  refused({"--shard-count", "3", "--on-existing", "replace"}, "is not a part of",
          {{"JOB_COMPLETION_INDEX", "7"}});
  refused({"--shard-count", "2", "--shard-index", "0"}, "--on-existing replace");
  refused({"--resume-if-exists"}, "needs --state");
  EXPECT_EQ(target_admin.checked({"DBSIZE"}).integer, 0);
}

}  // namespace
}  // namespace ferry::testing
