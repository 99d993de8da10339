// Copies between servers of different versions (tests/support/server_versions.hpp), against the
// independent oracle: every key's type, value and absolute expiry (tests/support/keyspace),
// streams with their consumer groups, pending entries and consumers, binary names. A source
// newer than the target sends what the target cannot RESTORE (a payload of a newer RDB
// version) to struct mode, and the report says so; an older source is copied by RESTORE alone.
// Also: a target whose ACL user may not run RESTORE, and a key larger than the target's
// proto-max-bulk-len. Builds that are not on this machine are skipped.
//
// What an older target cannot hold is left out of the comparison, and only that: before 7.0 a
// stream has no entries-added / max-deleted-id / recorded-first-id and a group no entries-read;
// before 6.2 a consumer exists only through its pending entries (no XGROUP CREATECONSUMER).
// Servers before 7.0 have no PEXPIRETIME, so their expiries are read as PTTL from now and
// compared within a tolerance.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

/// Expiries read as PTTL from now are exact to the round trip; a machine under load is slow.
constexpr std::int64_t ttl_tolerance_ms = 3'000;

/// `record` as a server of `build` can hold it.
key_record as_held_by(key_record record, const server_build& build) {
  if (record.type == "zset") {
    // Versions print the same double differently (6.2: %.17g, 7.0 on: the shortest form that
    // reads back the same); compare the numbers.
    for (std::size_t i = 1; i < record.value.size(); i += 2) {
      record.value[i] = fmt::format("{}", std::strtod(record.value[i].c_str(), nullptr));
    }
    return record;
  }
  if (record.type != "stream") return record;
  std::vector<std::string> out;
  for (std::string& item : record.value) {
    if (!build.at_least(7, 0) && item.rfind("meta ", 0) == 0) {
      item = std::regex_replace(
          item, std::regex(" (max-deleted-entry-id|entries-added|recorded-first-entry-id)=\\S+"),
          "");
    }
    if (!build.at_least(7, 0) && item.rfind("group ", 0) == 0) {
      item = std::regex_replace(item, std::regex(" entries-read=\\S+"), "");
    }
    if (!build.at_least(6, 2)) {
      if (item.rfind("group ", 0) == 0)
        item = std::regex_replace(item, std::regex(" consumers=\\d+"), "");
      if (item.rfind("consumer ", 0) == 0 && item.ends_with(" pending=0")) continue;
    }
    out.push_back(std::move(item));
  }
  record.value = std::move(out);
  return record;
}

/// Source and target hold the same keys, as far as the older of the two can hold them.
void expect_same_across(const keyspace& source, const keyspace& target, const server_build& older) {
  ASSERT_FALSE(source.empty());
  std::map<std::string, key_record> on_target;
  for (const auto& r : target) on_target.emplace(r.key, as_held_by(r, older));
  EXPECT_EQ(source.size(), target.size());
  std::size_t shown = 0;
  for (const auto& s : source) {
    const key_record want = as_held_by(s, older);
    const auto it = on_target.find(s.key);
    if (it == on_target.end()) {
      ADD_FAILURE() << "missing on the target: " << ::testing::PrintToString(s.key);
      if (++shown == 10) return;
      continue;
    }
    const key_record& got = it->second;
    const bool expiry_ok = (want.expire_at_ms < 0) == (got.expire_at_ms < 0) &&
                           std::llabs(want.expire_at_ms - got.expire_at_ms) <= ttl_tolerance_ms;
    if (want.type != got.type || want.value != got.value || !expiry_ok) {
      ADD_FAILURE() << "key " << ::testing::PrintToString(s.key) << " differs: type " << want.type
                    << " / " << got.type << ", expiry " << want.expire_at_ms << " / "
                    << got.expire_at_ms << ", value " << ::testing::PrintToString(want.value)
                    << " / " << ::testing::PrintToString(got.value);
      if (++shown == 10) return;
    }
  }
}

std::size_t count_containing(const nlohmann::json& warnings, std::string_view text) {
  std::size_t n = 0;
  for (const auto& w : warnings) n += w.get<std::string>().find(text) != std::string::npos;
  return n;
}

class cross_version_copy : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  temp_dir dir_{"xversion"};

  std::vector<std::string> copy_args(const std::string& source, const std::string& target,
                                     std::vector<std::string> more = {}) const {
    std::vector<std::string> args{"copy",
                                  "--source",
                                  source,
                                  "--target",
                                  target,
                                  "--report",
                                  (dir_ / "report.json").string(),
                                  "--failed-keys",
                                  (dir_ / "failed.jsonl").string(),
                                  "--progress",
                                  "never"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  nlohmann::json report() const { return read_json(dir_ / "report.json"); }
};

TEST_P(cross_version_copy, every_type_arrives_as_the_target_can_hold_it) {
  const auto& [from, to] = GetParam();
  FERRY_SKIP_UNLESS_SERVER(from);
  FERRY_SKIP_UNLESS_SERVER(to);
  server_options source_options, target_options;
  source_options.version = from;
  target_options.version = to;
  redis_server source(source_options);
  redis_server target(target_options);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 8;
  data.big_per_kind = 1;
  data.with_expiry_fraction = 0.3;
  const fill_result filled = fill_every_type(source_client, data);
  const bool functions = source.build().at_least(7, 0);
  if (functions) {
    source_client.checked({"FUNCTION", "LOAD",
                           "#!lua name=ferrylib\nredis.register_function('ferry_echo', "
                           "function(keys, args) return args[1] end)"});
  }

  const ferry_result run = run_ferry(copy_args(source.url(), target.url()));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  const server_build& older =
      source.build().at_least(target.build().redis_major, target.build().redis_minor)
          ? target.build()
          : source.build();
  expect_same_across(dump_keyspace(source_client), dump_keyspace(target_client), older);

  const auto totals = report()["totals"];
  EXPECT_EQ(totals["copied"], filled.keys) << run.output();
  EXPECT_EQ(totals["failed"], 0) << run.output();
  const std::uint64_t restored = totals["by_method"]["restore"];
  const std::uint64_t rebuilt = totals["by_method"]["struct"];
  EXPECT_EQ(restored + rebuilt, filled.keys);
  if (source.build().rdb_version() > target.build().rdb_version()) {
    // Every payload carries the source's RDB version, which the target refuses: what is not
    // read with GET and written with SET (strings, on targets from 6.2 on) goes by type
    // commands.
    EXPECT_GT(rebuilt, 0u) << run.output();
    EXPECT_EQ(totals["struct_reasons"]["bad_payload"], rebuilt) << run.output();
    EXPECT_EQ(count_containing(report()["warnings"], "is newer than the target"), 1u)
        << run.output();
  } else {
    EXPECT_EQ(restored, filled.keys) << run.output();
  }
  EXPECT_THAT(report()["versions"]["source"].get<std::string>(), HasSubstr(source.build().version));
  EXPECT_THAT(report()["versions"]["target"].get<std::string>(), HasSubstr(target.build().version));
  EXPECT_EQ(target_client.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
  EXPECT_EQ(target_client.command({"KEYS", "ferry:probe:*"}).elements.size(), 0u);
  if (functions && target.build().at_least(7, 0)) {
    // Callable on the target, not merely listed.
    EXPECT_EQ(target_client.checked({"FCALL", "ferry_echo", "0", "hello"}).str, "hello");
    EXPECT_EQ(report()["functions"]["libraries"], 1);
  } else if (functions) {
    EXPECT_EQ(count_containing(report()["warnings"], "has no functions"), 1u) << run.output();
  }
}

INSTANTIATE_TEST_SUITE_P(versions, cross_version_copy,
                         ::testing::Values(std::pair<std::string, std::string>{"7.4", "6.2"},
                                           std::pair<std::string, std::string>{"7.4", "5.0"},
                                           std::pair<std::string, std::string>{"valkey-8.0", "6.2"},
                                           std::pair<std::string, std::string>{"valkey-8.0", "5.0"},
                                           std::pair<std::string, std::string>{"7.4", "7.0"},
                                           std::pair<std::string, std::string>{"7.4", "valkey-8.0"},
                                           std::pair<std::string, std::string>{"valkey-8.0", "7.0"},
                                           std::pair<std::string, std::string>{"6.2", "7.4"}),
                         [](const auto& param_info) {
                           std::string name =
                               param_info.param.first + "_to_" + param_info.param.second;
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

class target_limits_test : public cross_version_copy {};

TEST_F(target_limits_test, an_acl_user_without_restore_gets_every_key_by_type_commands) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  target_client.checked(
      {"ACL", "SETUSER", "mover", "on", ">mover-pw", "~*", "&*", "+@all", "-restore"});
  dataset_options data;
  data.count_per_kind = 5;
  data.big_per_kind = 1;
  const fill_result filled = fill_every_type(source_client, data);

  const std::string target_url =
      "redis://mover:mover-pw@127.0.0.1:" + std::to_string(target.port());
  const ferry_result run = run_ferry(copy_args(source.url(), target_url));
  ASSERT_EQ(run.exit_code, 0) << run.output();
  expect_same_across(dump_keyspace(source_client), dump_keyspace(target_client), target.build());
  EXPECT_EQ(debug_digest(source_client), debug_digest(target_client));
  const auto totals = report()["totals"];
  EXPECT_EQ(totals["by_method"]["struct"], filled.keys);
  EXPECT_EQ(totals["struct_reasons"]["restore_refused"], filled.keys);
  EXPECT_EQ(count_containing(report()["warnings"], "refuses RESTORE"), 1u) << run.output();
}

TEST_F(target_limits_test, a_key_over_the_targets_bulk_limit_arrives_in_pieces) {
  redis_server source;
  server_options limited;
  limited.extra_args = {"--proto-max-bulk-len", "16mb"};
  redis_server target(limited);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  std::mt19937_64 rng(5);
  const auto noise = [&rng](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());  // incompressible: DUMP stays as large
    return s;
  };
  // A 50 MB hash (500 fields of 100 KB): its DUMP is over the limit, each field is not.
  for (int batch = 0; batch < 10; ++batch) {
    std::vector<std::string> hset{"HSET", "big:hash"};
    for (int i = 0; i < 50; ++i) {
      hset.push_back("field:" + std::to_string(batch * 50 + i));
      hset.push_back(noise(100'000));
    }
    source_client.checked(hset);
  }
  source_client.checked({"PEXPIREAT", "big:hash", std::to_string(now_ms() + 3'600'000)});
  // A 20 MB string cannot exist on that target at all (Redis checks a string's whole length
  // against proto-max-bulk-len): it fails, and says how big it is.
  source_client.checked({"SET", "big:string", noise(20'000'000)});
  fill_strings(source_client, 200, 100, 3);

  // --big-key-bytes above the hash: RESTORE is tried, the bulk limit sends it to struct mode.
  const ferry_result run = run_ferry(
      copy_args(source.url(), target.url(),
                {"--big-key-bytes", "64MiB", "--max-inflight-bytes", "256MiB", "--threads", "1"}));
  ASSERT_EQ(run.exit_code, 1) << run.output();
  EXPECT_EQ(source_client.checked({"DEL", "big:string"}).integer, 1);
  expect_same_across(dump_keyspace(source_client), dump_keyspace(target_client), target.build());
  EXPECT_EQ(debug_digest(source_client), debug_digest(target_client));
  const auto totals = report()["totals"];
  EXPECT_EQ(totals["failed"], 1);
  // Counted among the keys written by type commands: the hash (the string failed).
  EXPECT_EQ(totals["struct_reasons"]["over_bulk_limit"], 1) << run.output();
  EXPECT_EQ(totals["by_method"]["restore"], 200);
  const auto failed = read_json_lines(dir_ / "failed.jsonl");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["key"], "big:string");
  EXPECT_EQ(failed[0]["kind"], "key_too_large");
  EXPECT_THAT(failed[0]["error"].get<std::string>(), HasSubstr("proto-max-bulk-len"));
  // The string's own size, not another key's.
  EXPECT_THAT(failed[0]["error"].get<std::string>(),
              ::testing::ContainsRegex("payload is 200000[0-9]{2} bytes"));
}

}  // namespace
}  // namespace ferry::testing
