// The string path (issue 13): strings read with GET and written with SET ... PXAT [NX], every
// other type with DUMP and RESTORE, chosen batch by batch. Judged by the keyspace oracle and by
// what the source's INFO commandstats says it ran (independent of ferry's own counters), which
// the report's source_commands must agree with.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/acl_rules.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

/// Calls per command since the last CONFIG RESETSTAT ("get" -> n), from INFO commandstats.
std::map<std::string, std::uint64_t> command_calls(sync_client& server) {
  std::map<std::string, std::uint64_t> calls;
  std::istringstream lines(server.checked({"INFO", "commandstats"}).str);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (line.rfind("cmdstat_", 0) != 0 || colon == std::string::npos) continue;
    const auto at = line.find("calls=", colon);
    if (at == std::string::npos) continue;
    calls[line.substr(8, colon - 8)] = std::stoull(line.substr(at + 6));
  }
  return calls;
}

class string_reads_test : public ::testing::Test {
 protected:
  temp_dir dir_{"string-reads"};

  std::vector<std::string> copy_args(const std::string& source, const std::string& target) const {
    return {"copy",     "--source",    source,       "--target", target,
            "--report", report_path(), "--progress", "never"};
  }
  std::string report_path() const { return (dir_ / "report.json").string(); }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }

  /// Strings of every shape the path must carry exactly, and keys of the other types.
  static fill_result fill_mixed(sync_client& source) {
    dataset_options data;
    data.count_per_kind = 20;
    fill_result filled = fill_every_type(source, data);
    fill_strings(source, 3'000, 100, 11);
    const std::int64_t later = now_ms() + 3'600'000;
    std::vector<std::vector<std::string>> extra = {
        {"SET", "str:empty", ""},
        {"SET", "str:int", "12345"},
        {"SET", "str:negative", "-9223372036854775808"},
        {"SET", "str:binary", std::string("a\0b\r\n\xff", 6)},
        {"SET", "str:big", std::string(3 << 20, 'x')},
        {"SET", "str:compressible", std::string(5000, 'a')},
        {"SET", "str:expiring", "v", "PXAT", std::to_string(later)},
        // Within near_expiry_ms of the read: read with DUMP, written with RESTORE ABSTTL.
        {"SET", "str:soon", "v", "PX", "1500"},
        {"APPEND", "str:appended", "678"},
    };
    source.pipeline(extra);
    filled.keys += extra.size();
    return filled;
  }
};

TEST_F(string_reads_test, strings_go_by_get_and_set_the_rest_by_dump_exactly) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_mixed(source_client);
  const auto keys = source_client.checked({"DBSIZE"}).integer;
  source_client.checked({"CONFIG", "RESETSTAT"});

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto calls = command_calls(source_client);
  // str:soon expires on both sides meanwhile (each server's expiry cycle removes it within
  // a fraction of a second); the oracle then compares the rest.
  std::this_thread::sleep_for(std::chrono::milliseconds{2'000});
  expect_exact_copy(source_client, target_client);

  // The source ran GET for the strings and DUMP for the other types (and the strings near
  // their expiry): fewer DUMPs than keys, and the report says what the source says. (A batch
  // that follows a run of other types may read some strings with DUMP: the path is chosen per
  // batch from the share of strings seen.)
  const auto sent = report()["source_commands"];
  const std::uint64_t gets = calls.count("get") ? calls.at("get") : 0;
  const std::uint64_t dumps = calls.count("dump") ? calls.at("dump") : 0;
  EXPECT_GE(gets, 2'500u);
  EXPECT_LT(dumps, static_cast<std::uint64_t>(keys) / 2);
  EXPECT_GE(gets + dumps, static_cast<std::uint64_t>(keys));
  // The report counts the readers' commands; the version probe before the copy adds one SCAN
  // and at most one DUMP (of the smallest sampled key).
  EXPECT_EQ(sent["get"].get<std::uint64_t>(), gets);
  EXPECT_LE(dumps - sent["dump"].get<std::uint64_t>(), 1u);
  EXPECT_LE(calls.at("pexpiretime") - sent["expiry"].get<std::uint64_t>(), 1u);
  EXPECT_LE(calls.at("scan") - sent["scan"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(report()["totals"]["copied"].get<std::uint64_t>() +
                report()["totals"]["vanished"].get<std::uint64_t>(),
            static_cast<std::uint64_t>(keys));
}

TEST_F(string_reads_test, string_reads_dump_sends_no_get) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_mixed(source_client);
  source_client.checked({"CONFIG", "RESETSTAT"});
  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--string-reads", "dump"});
  const ferry_result run = run_ferry(args);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto calls = command_calls(source_client);  // before the oracle's own GETs
  EXPECT_EQ(calls.count("get"), 0u);
  EXPECT_LE(calls.at("dump") - report()["source_commands"]["dump"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(report()["source_commands"]["get"], 0);
  std::this_thread::sleep_for(std::chrono::milliseconds{2'000});  // str:soon expires
  expect_exact_copy(source_client, target_client);
}

TEST_F(string_reads_test, a_dataset_of_hashes_turns_to_dump_after_a_few_batches) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  std::vector<std::vector<std::string>> hashes;
  for (int i = 0; i < 20'000; ++i) {
    hashes.push_back({"HSET", "h:" + std::to_string(i), "f", std::to_string(i)});
  }
  source_client.pipeline(hashes);
  source_client.checked({"CONFIG", "RESETSTAT"});
  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const auto calls = command_calls(source_client);
  expect_exact_copy(source_client, target_client);
  EXPECT_LE(calls.at("dump") - 20'000u, 1u);  // and the version probe's
  // Only the first batches of each reader try GET (refused with WRONGTYPE, which Redis counts
  // as a failed call).
  const std::uint64_t gets = calls.count("get") ? calls.at("get") : 0;
  EXPECT_LT(gets, 20'000u / 4) << "GET kept being tried on a dataset without strings";
}

TEST_F(string_reads_test, existing_strings_follow_on_existing_like_restore) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  source_client.pipeline({{"SET", "a", "source-a"}, {"SET", "b", "source-b"}, {"SET", "c", "c"}});
  target_client.pipeline({{"SET", "a", "target-a"}, {"SET", "c", "c"}});

  auto skip = copy_args(source.url(), target.url());
  skip.insert(skip.end(), {"--on-existing", "skip"});
  ferry_result run = run_ferry(skip);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(target_client.checked({"GET", "a"}).str, "target-a");
  EXPECT_EQ(target_client.checked({"GET", "b"}).str, "source-b");
  EXPECT_EQ(report()["totals"]["skipped"], 2);

  auto replace = copy_args(source.url(), target.url());
  replace.insert(replace.end(), {"--on-existing", "replace"});
  run = run_ferry(replace);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_exact_copy(source_client, target_client);

  target_client.checked({"SET", "a", "target-a"});
  auto fail = copy_args(source.url(), target.url());
  fail.insert(fail.end(), {"--on-existing", "fail"});
  run = run_ferry(fail);
  EXPECT_EQ(run.exit_code, 1) << run.output();
  EXPECT_EQ(target_client.checked({"GET", "a"}).str, "target-a");
  EXPECT_EQ(report()["totals"]["failed"], 3);
}

TEST_F(string_reads_test, a_source_user_without_get_is_read_with_dump_and_told) {
  redis_server source;
  redis_server target;
  sync_client admin = source.client();
  fill_strings(admin, 2'000, 50, 3);
  // The README's source rules without +get (an ACL written for DUMP-based tools).
  std::vector<std::string> rules;
  for (const auto& rule : source_rules_copy()) {
    if (rule != "+get") rules.push_back(rule);
  }
  add_user(admin, "mover", "mover-secret", rules);
  const std::string url = "redis://mover:mover-secret@127.0.0.1:" + std::to_string(source.port());
  const ferry_result run = run_ferry(copy_args(url, target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  sync_client target_client = target.client();
  expect_exact_copy(admin, target_client);
  EXPECT_THAT(run.output(), HasSubstr("refuses GET"));
  EXPECT_THAT(run.output(), HasSubstr("+get"));
}

// A 7.0 source's DUMP payloads are RDB 10, which Redis 6.2 cannot RESTORE; its strings go by
// value with SET ... PXAT, which 6.2 has. Before 6.2 there is no PXAT: the readers DUMP every key
// (and struct mode writes what 5.0 cannot RESTORE).
TEST_F(string_reads_test, a_6_2_target_gets_strings_by_set_pxat_and_5_0_by_dump) {
  FERRY_SKIP_UNLESS_SERVER("6.2");
  FERRY_SKIP_UNLESS_SERVER("5.0");
  redis_server source;
  sync_client source_client = source.client();
  fill_strings(source_client, 2'000, 80, 5);
  source_client.checked({"SET", "ttl", "v", "PXAT", std::to_string(now_ms() + 3'600'000)});
  for (const std::string version : {"6.2", "5.0"}) {
    server_options options;
    options.version = version;
    redis_server target(options);
    sync_client target_client = target.client();
    source_client.checked({"CONFIG", "RESETSTAT"});
    const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
    const auto calls = command_calls(source_client);
    ASSERT_EQ(run.exit_code, 0) << version << ": " << run.output();
    if (version == "5.0") {
      // No SET ... PXAT: the readers DUMP every key (and the payloads 5.0 cannot read go by
      // struct mode, whose own GETs follow).
      EXPECT_GE(calls.at("dump"), 2'001u);
      EXPECT_EQ(report()["source_commands"]["get"], 0);
    } else {
      EXPECT_EQ(calls.at("get"), 2'001u);
    }
    // Strings digest alike on every version (value and absolute expiry).
    EXPECT_EQ(debug_digest(target_client), debug_digest(source_client)) << version;
    EXPECT_GT(target_client.checked({"PTTL", "ttl"}).integer, 3'500'000) << version;
  }
}

}  // namespace
}  // namespace ferry::testing
