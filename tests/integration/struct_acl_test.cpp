// Struct mode under the README's minimal ACL rules (tests/support/acl_rules.cpp, per server
// generation): `--mode struct` copies every type with users that have exactly the copy rules
// plus the struct-mode rules of their generation, and nothing is refused (the servers' ACL LOG
// stays empty). The copy is checked by the independent oracle (the canonical keyspace and
// DEBUG DIGEST of both servers, of the same version; before 7.0, whose expiries are read as
// PTTL, expiries within a tolerance). Builds not on this machine are skipped.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/acl_rules.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

/// The entries of ACL LOG (each a refusal), as text.
std::string acl_refusals(sync_client& admin) {
  std::string text;
  for (const auto& entry : admin.checked({"ACL", "LOG"}).elements) {
    for (const auto& field : entry.elements) text += field.str + " ";
    text += "\n";
  }
  return text;
}

std::string user_url(const redis_server& server, const std::string& user,
                     const std::string& password) {
  return "redis://" + user + ":" + password + "@127.0.0.1:" + std::to_string(server.port());
}

/// A server version ("" for the machine's default redis-server).
class struct_acl_test : public ::testing::TestWithParam<std::string> {
 protected:
  temp_dir dir_{"structacl"};
};

TEST_P(struct_acl_test, struct_mode_runs_under_the_minimal_rules_of_its_generation) {
  const std::string version = GetParam();
  if (!version.empty()) FERRY_SKIP_UNLESS_SERVER(version);
  server_options locked;
  locked.version = version;
  locked.password = "Admin-Only-q7Lm";  // the default user is not ferry's way in
  redis_server source(locked);
  redis_server target(locked);
  const server_build& build = source.build();
  ASSERT_TRUE(build.has_acl());
  const acl_generation generation = acl_generation_of(build.redis_major, build.redis_minor);
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  dataset_options data;
  data.count_per_kind = 6;
  data.big_per_kind = 1;
  data.with_expiry_fraction = 0.3;
  const fill_result filled = fill_every_type(source_admin, data);
  if (build.at_least(7, 4)) {
    // Field expiries too, which the 7.4 rules name (HPEXPIRETIME, HPEXPIREAT).
    source_admin.checked({"HSET", "hash:fttl", "a", "1", "b", "2"});
    source_admin.checked(
        {"HPEXPIREAT", "hash:fttl", std::to_string(now_ms() + 3'600'000), "FIELDS", "1", "a"});
  }
  if (build.at_least(7, 0)) {
    source_admin.checked({"FUNCTION", "LOAD",
                          "#!lua name=acllib\nredis.register_function('acl_echo', "
                          "function(keys, args) return args[1] end)"});
  }
  add_user(source_admin, "ferry-source", "Source-Pw-r2Vx",
           joined(source_rules_copy(generation), source_rules_struct(generation)));
  add_user(target_admin, "ferry-target", "Target-Pw-k8Jd",
           joined(target_rules_copy(), target_rules_struct(generation)));

  const ferry_result run =
      run_ferry({"copy", "--source", user_url(source, "ferry-source", "Source-Pw-r2Vx"), "--target",
                 user_url(target, "ferry-target", "Target-Pw-k8Jd"), "--mode", "struct",
                 // The big values (100 KB strings, lists of 20 KB elements) go in chunks under
                 // temporary keys, renamed into place: those commands are under the rules too.
                 "--big-key-bytes", "64KiB", "--report", (dir_ / "report.json").string(),
                 "--failed-keys", (dir_ / "failed.jsonl").string(), "--progress", "never"},
                120s);
  ASSERT_EQ(run.exit_code, 0) << run.output();
  if (build.has_redis7_commands()) {
    EXPECT_EQ(diff_keyspaces(dump_keyspace(source_admin), dump_keyspace(target_admin)), "");
    EXPECT_EQ(debug_digest(source_admin), debug_digest(target_admin));
  } else {
    // Before 7.0 there is no PEXPIRETIME: ferry (and the oracle) read expiries as PTTL from
    // now, exact to the round trip. Everything else must be equal.
    keyspace want = dump_keyspace(source_admin);
    keyspace got = dump_keyspace(target_admin);
    ASSERT_EQ(want.size(), got.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_LE(std::llabs(want[i].expire_at_ms - got[i].expire_at_ms), 3'000) << want[i].key;
      EXPECT_EQ(want[i].expire_at_ms < 0, got[i].expire_at_ms < 0) << want[i].key;
      got[i].expire_at_ms = want[i].expire_at_ms;
    }
    EXPECT_EQ(diff_keyspaces(want, got), "");
  }
  if (build.at_least(7, 4)) {
    const auto want = source_admin.checked({"HPEXPIRETIME", "hash:fttl", "FIELDS", "2", "a", "b"});
    const auto got = target_admin.checked({"HPEXPIRETIME", "hash:fttl", "FIELDS", "2", "a", "b"});
    ASSERT_EQ(got.elements.size(), 2u);
    EXPECT_EQ(got.elements[0].integer, want.elements[0].integer);
    EXPECT_EQ(got.elements[1].integer, -1);
  }
  if (build.at_least(7, 0)) {
    EXPECT_EQ(target_admin.checked({"FCALL", "acl_echo", "0", "hi"}).str, "hi");
  }
  // Nothing was refused: a NOPERM would show in the ACL log.
  EXPECT_EQ(acl_refusals(source_admin), "");
  EXPECT_EQ(acl_refusals(target_admin), "");
  const auto totals = read_json(dir_ / "report.json")["totals"];
  EXPECT_EQ(totals["failed"], 0) << run.output();
  EXPECT_EQ(totals["by_method"]["struct"].get<std::uint64_t>(),
            filled.keys + (build.at_least(7, 4) ? 1 : 0))
      << run.output();
  EXPECT_GT(totals["struct_reasons"]["big_key"].get<std::uint64_t>(), 0u) << run.output();
  EXPECT_EQ(target_admin.command({"KEYS", "ferry:tmp:*"}).elements.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(generations, struct_acl_test, ::testing::Values("6.2", "", "7.4"),
                         [](const auto& param_info) {
                           std::string name =
                               param_info.param.empty() ? "default" : param_info.param;
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace ferry::testing
