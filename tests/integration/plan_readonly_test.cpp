// `ferry plan` never writes: on both servers, every command whose INFO commandstats count grew
// while ferry planned is one the server itself does not flag "write" (COMMAND INFO), and DEBUG
// DIGEST and DBSIZE of every database are unchanged. Sampling and --scan-all both.

#include <gtest/gtest.h>

#include "tests/integration/plan_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {
namespace {

/// What must not change: the digest, and DBSIZE of the two databases used.
std::vector<std::string> state(sync_client& client) {
  std::vector<std::string> out{debug_digest(client)};
  for (const char* db : {"0", "5"}) {
    client.checked({"SELECT", db});
    out.push_back(std::to_string(client.checked({"DBSIZE"}).integer));
  }
  client.checked({"SELECT", "0"});
  return out;
}

/// Commands that ran between `before` and `after`, with the server's flags for each.
std::map<std::string, std::set<std::string>> grown(sync_client& client,
                                                   const std::map<std::string, long long>& before,
                                                   const std::map<std::string, long long>& after) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [name, calls] : after) {
    const auto it = before.find(name);
    if (calls > (it == before.end() ? 0 : it->second)) out[name] = command_flags(client, name);
  }
  return out;
}

TEST(plan_readonly, ferry_plan_sends_no_write_command_to_either_side) {
  temp_dir dir("plan-readonly");
  redis_server source;
  redis_server target;
  sync_client s = source.client();
  sync_client t = target.client();
  dataset_options data;
  data.count_per_kind = 20;
  data.big_per_kind = 1;
  fill_every_type(s, data);
  {
    sync_client db5 = source.client();
    db5.checked({"SELECT", "5"});
    fill_strings(db5, 20, 10);
  }
  const auto source_state = state(s);
  const auto target_state = state(t);
  const auto source_before = command_calls(s);
  const auto target_before = command_calls(t);

  const plan_run sampled =
      run_plan({"--source", source.url(), "--target", target.url(), "--sample", "50"}, dir);
  ASSERT_NE(sampled.result.exit_code, 2) << sampled.result.output();
  const plan_run all = run_plan({"--source", source.url(), "--target", target.url(), "--scan-all",
                                 "--max-keys-per-sec", "20000"},
                                dir);
  ASSERT_NE(all.result.exit_code, 2) << all.result.output();
  EXPECT_TRUE(all.json["sample"]["scanned_all"].get<bool>());

  const auto source_ran = grown(s, source_before, command_calls(s));
  const auto target_ran = grown(t, target_before, command_calls(t));
  for (const auto* ran : {&source_ran, &target_ran}) {
    for (const auto& [name, flags] : *ran) {
      EXPECT_FALSE(flags.count("write")) << name << " is a write command";
      EXPECT_FALSE(flags.empty()) << name << " is unknown to the server";
    }
  }
  // ferry's connections named themselves, and the source was read (not only inspected).
  EXPECT_TRUE(source_ran.count("client|setname"));
  EXPECT_TRUE(target_ran.count("client|setname"));
  for (const char* read : {"scan", "type", "pttl", "memory|usage", "dump", "pexpiretime"}) {
    EXPECT_TRUE(source_ran.count(read)) << read;
  }
  EXPECT_EQ(state(s), source_state);
  EXPECT_EQ(state(t), target_state);
}

}  // namespace
}  // namespace ferry::testing
