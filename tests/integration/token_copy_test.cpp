// Copies that log in with Microsoft Entra ID access tokens against real servers: an expired or
// unreadable token (file or command) stops ferry before any data moves; a token file and a token
// command log in as the token's object id under the documented minimal rules; SIGINT still
// drains while the token refresher runs. (Rotation across token lifetimes:
// token_rotation_test.cpp.)

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/acl_rules.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/login_fixture.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using token_copy_test = login_fixture;

TEST_F(token_copy_test, an_expired_or_unreadable_token_stops_ferry_before_any_data_moves) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 100, 10, 7);
  const auto now = std::chrono::system_clock::now();

  const auto expired = write("expired.jwt", make_token(now - 30s, "oid-expired", "a"));
  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--target-token-file", expired.string()});
  const ferry_result old = run_ferry(args, 60s);
  EXPECT_EQ(old.exit_code, 2) << old.output();
  EXPECT_THAT(old.err, HasSubstr("expired.jwt"));
  EXPECT_THAT(old.err, HasSubstr("expired at"));
  EXPECT_THAT(old.err, HasSubstr(std::to_string(target.port())));

  args.back() = (dir_ / "no-such-token").string();
  const ferry_result missing = run_ferry(args, 60s);
  EXPECT_EQ(missing.exit_code, 2) << missing.output();
  EXPECT_THAT(missing.err, HasSubstr("no-such-token"));
  EXPECT_THAT(missing.err, HasSubstr("No such file"));

  args.back() = write("garbage.jwt", "not-a-jwt-at-all").string();
  const ferry_result garbage = run_ferry(args, 60s);
  EXPECT_EQ(garbage.exit_code, 2) << garbage.output();
  EXPECT_THAT(garbage.err, HasSubstr("garbage.jwt"));
  EXPECT_THAT(garbage.err, HasSubstr("not a JWT"));
  EXPECT_THAT(garbage.err, Not(HasSubstr("not-a-jwt-at-all")));

  // A token command that fails, and one that prints an expired token.
  auto command_args = copy_args(source.url(), target.url());
  command_args.insert(command_args.end(),
                      {"--source-token-command", "echo 'no identity here' >&2; exit 3"});
  const ferry_result failing = run_ferry(command_args, 60s);
  EXPECT_EQ(failing.exit_code, 2) << failing.output();
  EXPECT_THAT(failing.err, HasSubstr("--source-token-command"));
  EXPECT_THAT(failing.err, HasSubstr("exited with code 3"));
  EXPECT_THAT(failing.err, HasSubstr("no identity here"));

  command_args.back() = "cat " + expired.string();
  const ferry_result stale = run_ferry(command_args, 60s);
  EXPECT_EQ(stale.exit_code, 2) << stale.output();
  EXPECT_THAT(stale.err, HasSubstr("expired at"));

  EXPECT_EQ(target.client().checked({"DBSIZE"}).integer, 0);
}

TEST_F(token_copy_test, a_token_file_and_a_token_command_log_in_as_the_token_s_object_id) {
  server_options locked;
  locked.password = "Admin-Only-w2Pe";
  redis_server source(locked);
  redis_server target(locked);
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_strings(source_admin, 1'000, 30, 8);
  const auto expires = std::chrono::system_clock::now() + 1h;
  const std::string source_token = make_token(expires, "5f1c0a8e-source-oid", "s1");
  const std::string target_token = make_token(expires, "9d2e4b7a-target-oid", "t1");
  add_user(source_admin, "5f1c0a8e-source-oid", source_token, source_rules_copy());
  add_user(target_admin, "9d2e4b7a-target-oid", target_token, target_rules_copy());
  const auto token_file = write("target.jwt", target_token + "\n");
  // `az account get-access-token` prints JSON; ferry takes its accessToken.
  const auto az_json =
      write("az.json", R"({"accessToken": ")" + source_token + R"(", "tokenType": "Bearer"})");

  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--source-token-command", "cat " + az_json.string(),
                           "--target-token-file", token_file.string()});
  const ferry_result result = run_ferry(args);
  ASSERT_EQ(result.exit_code, 0) << result.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_admin), dump_keyspace(target_admin)), "");
  expect_hidden(result, source_token.substr(source_token.rfind('.') - 20));
  expect_hidden(result, target_token.substr(target_token.rfind('.') - 20));
}

TEST_F(token_copy_test, sigint_still_drains_while_a_token_refresher_runs) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_admin = target.client();
  fill_strings(source_client, 3'000, 20, 12);
  const std::string token =
      make_token(std::chrono::system_clock::now() + 1h, "3c4d5e6f-sigint-oid", "sigint");
  add_user(target_admin, "3c4d5e6f-sigint-oid", token, target_rules_copy());
  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--target-token-file", write("target.jwt", token).string(),
                           "--max-keys-per-sec", "300"});
  ferry_process ferry(args, dir_.path());
  std::this_thread::sleep_for(1500ms);
  ferry.signal(SIGINT);
  const ferry_result result = ferry.wait(60s);
  // The refresher thread must not take the signal (which would kill ferry at once).
  EXPECT_EQ(result.exit_code, 3) << result.output();
  EXPECT_THAT(result.err, HasSubstr("SIGINT received"));
}

}  // namespace
}  // namespace ferry::testing
