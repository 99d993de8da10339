// Logging in and TLS against real servers: refused passwords and users stop at once with a
// message naming the endpoint (and never the password); an ACL user restricted to the documented
// minimal rules can copy (and verify); each TLS failure has its own actionable message;
// --insecure works and says so out loud; client certificates. (Tokens: token_copy_test.cpp.)

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/acl_rules.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/login_fixture.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

std::string with_port(const redis_server& server) {
  return "127.0.0.1:" + std::to_string(server.port());
}

/// A plain URL with a user and no password.
std::string user_url(const redis_server& server, const std::string& user) {
  return "redis://" + user + "@127.0.0.1:" + std::to_string(server.port());
}

using auth_tls_test = login_fixture;

TEST_F(auth_tls_test, a_refused_password_stops_at_once_names_the_endpoint_and_hides_the_password) {
  server_options protected_source;
  protected_source.password = "Right-Pass-q8Vw";
  redis_server source(protected_source);
  redis_server target;
  sync_client admin = source.client();
  fill_strings(admin, 100, 10, 1);
  const auto auth_before = command_calls(admin, "auth");

  // From the environment variable.
  const std::string wrong_env = "Wrong-Env-Zk4Rt7";
  const ferry_result from_env = run_ferry(copy_args("redis://" + with_port(source), target.url()),
                                          60s, {{"FERRY_SOURCE_PASSWORD", wrong_env}});
  EXPECT_EQ(from_env.exit_code, 2) << from_env.output();
  EXPECT_THAT(from_env.err, HasSubstr(with_port(source)));
  EXPECT_THAT(from_env.err, HasSubstr("authentication refused"));
  EXPECT_THAT(from_env.err, HasSubstr("FERRY_SOURCE_PASSWORD"));
  EXPECT_LT(from_env.seconds, 10) << "a refused password must not be retried";
  expect_hidden(from_env, wrong_env);

  // In the URL (with the warning that it is on the command line).
  const std::string wrong_url = "Wrong-Url-Mn3Jx9";
  const ferry_result from_url =
      run_ferry(copy_args("redis://:" + wrong_url + "@" + with_port(source), target.url()), 60s);
  EXPECT_EQ(from_url.exit_code, 2) << from_url.output();
  EXPECT_THAT(from_url.err, HasSubstr(with_port(source)));
  EXPECT_THAT(from_url.err, HasSubstr("authentication refused"));
  EXPECT_THAT(from_url.err, HasSubstr("FERRY_SOURCE_PASSWORD"));  // the warning's advice
  expect_hidden(from_url, wrong_url);

  // From a file, for a user that does not exist.
  const std::string file_secret = "File-Secret-Pq2Lc5";
  const auto password_file = write("source-password", file_secret + "\n");
  auto args = copy_args("redis://" + with_port(source), target.url());
  args.insert(args.end(),
              {"--source-user", "nobody-here", "--source-password-file", password_file.string()});
  const ferry_result unknown_user = run_ferry(args, 60s);
  EXPECT_EQ(unknown_user.exit_code, 2) << unknown_user.output();
  EXPECT_THAT(unknown_user.err, HasSubstr(with_port(source)));
  EXPECT_THAT(unknown_user.err, HasSubstr("'nobody-here'"));
  EXPECT_THAT(unknown_user.err, HasSubstr("source-password"));
  expect_hidden(unknown_user, file_secret);
  expect_hidden(unknown_user, "Right-Pass-q8Vw");

  // No retry storm: one refused AUTH per run (the inspection before any data moves), not one
  // per connection and retry.
  const auto refused = command_calls(admin, "auth") - auth_before;
  EXPECT_LE(refused, 6u);
  EXPECT_EQ(target.client().checked({"DBSIZE"}).integer, 0);
}

TEST_F(auth_tls_test, a_refused_target_password_and_a_missing_one_are_told_apart) {
  redis_server source;
  server_options protected_target;
  protected_target.password = "Target-Right-x5Gh";
  redis_server target(protected_target);
  fill_strings(*std::make_unique<sync_client>(source.client()), 50, 10, 2);

  const ferry_result missing = run_ferry(copy_args(source.url(), user_url(target, "default")));
  EXPECT_EQ(missing.exit_code, 2) << missing.output();
  EXPECT_THAT(missing.err, HasSubstr(with_port(target)));
  EXPECT_THAT(missing.err, HasSubstr("requires authentication"));

  const std::string wrong = "Target-Wrong-r7Yb";
  const ferry_result refused = run_ferry(copy_args(source.url(), user_url(target, "default")), 60s,
                                         {{"FERRY_TARGET_PASSWORD", wrong}});
  EXPECT_EQ(refused.exit_code, 2) << refused.output();
  EXPECT_THAT(refused.err, HasSubstr(with_port(target)));
  EXPECT_THAT(refused.err, HasSubstr("authentication refused as user 'default'"));
  EXPECT_THAT(refused.err, HasSubstr("target"));
  expect_hidden(refused, wrong);

  sync_client admin = target.client();
  EXPECT_EQ(admin.checked({"DBSIZE"}).integer, 0);
  EXPECT_LE(command_calls(admin, "auth"), 4u);
}

/// Adds `rules` to an existing user.
void grant(sync_client& admin, const std::string& user, const std::vector<std::string>& rules) {
  std::vector<std::string> command{"ACL", "SETUSER", user};
  command.insert(command.end(), rules.begin(), rules.end());
  admin.checked(command);
}

/// The entries of ACL LOG (each a refusal), as text.
std::string acl_refusals(sync_client& admin) {
  std::string text;
  for (const auto& entry : admin.checked({"ACL", "LOG"}).elements) {
    for (const auto& field : entry.elements) text += field.str + " ";
    text += "\n";
  }
  return text;
}

TEST_F(auth_tls_test, acl_users_with_the_documented_minimal_rules_can_copy_and_verify) {
  server_options locked;
  locked.password = "Admin-Only-c4Nd";  // the default user is not ferry's way in
  redis_server source(locked);
  // Other encodings on the target, so that verify compares collections element by element.
  server_options other_encodings = locked;
  other_encodings.extra_args = {
      "--hash-max-listpack-entries", "0", "--set-max-intset-entries", "0",
      "--zset-max-listpack-entries", "0", "--list-max-listpack-size", "1"};
  redis_server target(other_encodings);
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  dataset_options data;
  data.count_per_kind = 20;
  fill_every_type(source_admin, data);
  fill_strings(source_admin, 3'000, 50, 3);
  add_user(source_admin, "ferry-reader", "Reader-Pw-h6Tq", source_rules_copy());
  add_user(target_admin, "ferry-writer", "Writer-Pw-b3Kz", target_rules_copy());

  const auto password_file = write("target-password", "Writer-Pw-b3Kz\n");
  const std::map<std::string, std::string> env{{"FERRY_SOURCE_PASSWORD", "Reader-Pw-h6Tq"}};
  const auto args = [&](const std::string& command) {
    auto a = copy_args(user_url(source, "ferry-reader"), user_url(target, "ferry-writer"));
    a.front() = command;
    a.insert(a.end(), {"--target-password-file", password_file.string(), "--batch-keys", "100"});
    return a;
  };
  const ferry_result copied = run_ferry(args("copy"), 120s, env);
  ASSERT_EQ(copied.exit_code, 0) << copied.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_admin), dump_keyspace(target_admin)), "");
  EXPECT_EQ(debug_digest(source_admin), debug_digest(target_admin));
  // Nothing was refused: a NOPERM would show in the ACL log.
  EXPECT_EQ(acl_refusals(source_admin), "");
  EXPECT_EQ(acl_refusals(target_admin), "");

  // verify, first of an exact copy, then of one with a difference of every kind.
  grant(source_admin, "ferry-reader", both_rules_verify());
  grant(target_admin, "ferry-writer", both_rules_verify());
  const ferry_result equal = run_ferry(args("verify"), 120s, env);
  ASSERT_EQ(equal.exit_code, 0) << equal.output();
  target_admin.checked({"SET", "str:embstr:1", "changed"});
  target_admin.checked({"SETRANGE", "str:big:0", "1000", "changed"});
  target_admin.checked({"LPUSH", "list:quicklist:0", "changed"});
  target_admin.checked({"HSET", "hash:listpack:1", "changed", "1"});
  target_admin.checked({"SADD", "set:intset:1", "999999"});
  target_admin.checked({"ZADD", "zset:listpack:1", "42", "changed"});
  target_admin.checked({"XADD", "stream:groups:0", "*", "changed", "1"});
  target_admin.checked({"DEL", "str:raw:2"});
  target_admin.checked({"SET", "only-on-the-target", "1"});
  const auto diff_file = dir_ / "diff.jsonl";
  auto with_diff = args("verify");
  with_diff.insert(with_diff.end(), {"--diff", diff_file.string()});
  const ferry_result different = run_ferry(with_diff, 120s, env);
  EXPECT_EQ(different.exit_code, 1) << different.output();
  std::ifstream diff(diff_file);
  int lines = 0;
  for (std::string line; std::getline(diff, line);) ++lines;
  EXPECT_GE(lines, 8) << different.output();

  // --repair (and deleting extra keys) with the documented additions for the target.
  grant(target_admin, "ferry-writer", target_rules_repair());
  auto repair = args("verify");
  repair.insert(repair.end(), {"--repair", "--repair-delete-extra"});
  const ferry_result repaired = run_ferry(repair, 120s, env);
  EXPECT_EQ(repaired.exit_code, 0) << repaired.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_admin), dump_keyspace(target_admin)), "");

  EXPECT_EQ(acl_refusals(source_admin), "");
  EXPECT_EQ(acl_refusals(target_admin), "");
}

TEST_F(auth_tls_test, the_documented_minimal_rules_suffice_between_clusters_too) {
  cluster_options locked;
  locked.node.password = "Admin-Only-k8Ry";
  redis_cluster source(locked);
  redis_cluster target(locked);
  for (redis_server* node : source.nodes()) {
    sync_client admin = node->client();
    add_user(admin, "ferry-reader", "Reader-Pw-z5Ww", source_rules_copy());
  }
  for (redis_server* node : target.nodes()) {
    sync_client admin = node->client();
    add_user(admin, "ferry-writer", "Writer-Pw-n1Qs", target_rules_copy());
  }
  cluster_client source_client = source.client();
  cluster_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 10;
  fill_every_type(source_client, data);
  fill_strings(source_client, 3'000, 40, 9);

  const auto url = [](const redis_cluster& cluster, const std::string& user) {
    return "redis://" + user + "@127.0.0.1:" + std::to_string(cluster.masters().front()->port());
  };
  const ferry_result copied = run_ferry(
      copy_args(url(source, "ferry-reader"), url(target, "ferry-writer")), 120s,
      {{"FERRY_SOURCE_PASSWORD", "Reader-Pw-z5Ww"}, {"FERRY_TARGET_PASSWORD", "Writer-Pw-n1Qs"}});
  ASSERT_EQ(copied.exit_code, 0) << copied.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");

  for (redis_server* node : source.nodes()) {
    sync_client admin = node->client();
    grant(admin, "ferry-reader", both_rules_verify());
  }
  for (redis_server* node : target.nodes()) {
    sync_client admin = node->client();
    grant(admin, "ferry-writer", both_rules_verify());
  }
  target_client.pipeline_keyed({{"SET", "str:embstr:3", "changed"}});
  auto verify = copy_args(url(source, "ferry-reader"), url(target, "ferry-writer"));
  verify.front() = "verify";
  const ferry_result verified = run_ferry(
      verify, 120s,
      {{"FERRY_SOURCE_PASSWORD", "Reader-Pw-z5Ww"}, {"FERRY_TARGET_PASSWORD", "Writer-Pw-n1Qs"}});
  EXPECT_EQ(verified.exit_code, 1) << verified.output();  // exactly the one changed key
  EXPECT_THAT(verified.out, HasSubstr("different value 1"));
  for (redis_server* node : source.nodes()) {
    sync_client admin = node->client();
    EXPECT_EQ(acl_refusals(admin), "") << node->port();
  }
  for (redis_server* node : target.nodes()) {
    sync_client admin = node->client();
    EXPECT_EQ(acl_refusals(admin), "") << node->port();
  }
}

TEST_F(auth_tls_test, each_tls_failure_has_its_own_actionable_message) {
  struct tls_case {
    std::string name;
    std::function<std::unique_ptr<redis_server>()> start;
    std::function<std::string(const redis_server&)> url;
    std::string expected;  // a phrase only this case's message holds
    std::string advice;    // what to do
  };
  const auto rediss = [](const std::string& host) {
    return [host](const redis_server& s) {
      return "rediss://" + host + ":" + std::to_string(s.port());
    };
  };
  const std::vector<tls_case> cases{
      {"untrusted certificate",
       [&] { return std::make_unique<redis_server>(tls_server(tls_.other_ca_server())); },
       rediss("localhost"), "is not trusted", "--cacert"},
      {"host name mismatch",
       [&] { return std::make_unique<redis_server>(tls_server(tls_.wrong_host_server())); },
       rediss("localhost"), "does not name host 'localhost'", "--target-tls-server-name"},
      {"IP address mismatch",
       [&] { return std::make_unique<redis_server>(tls_server(tls_.wrong_host_server())); },
       rediss("127.0.0.1"), "does not list IP address 127.0.0.1", "host name"},
      {"expired certificate",
       [&] { return std::make_unique<redis_server>(tls_server(tls_.expired_server())); },
       rediss("localhost"), "has expired", "renew"},
      {"plain-text server on a rediss:// URL", [] { return std::make_unique<redis_server>(); },
       rediss("127.0.0.1"), "did not answer with TLS", "redis://"},
      {"TLS server on a redis:// URL",
       [&] { return std::make_unique<redis_server>(tls_server(tls_.server())); },
       [](const redis_server& s) { return "redis://127.0.0.1:" + std::to_string(s.port()); },
       "expects TLS", "rediss://"},
  };
  redis_server source;
  fill_strings(*std::make_unique<sync_client>(source.client()), 10, 10, 4);
  std::set<std::string> messages;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto target = c.start();
    auto args = copy_args(source.url(), c.url(*target));
    args.insert(args.end(), {"--connect-timeout", "3000"});
    const ferry_result result = run_ferry(args, 60s);
    EXPECT_EQ(result.exit_code, 2) << result.output();
    EXPECT_LT(result.seconds, 8);
    EXPECT_THAT(result.err, HasSubstr(std::to_string(target->port())));
    EXPECT_THAT(result.err, HasSubstr(c.expected));
    EXPECT_THAT(result.err, HasSubstr(c.advice));
    for (const auto& other : cases) {
      if (other.expected != c.expected) {
        EXPECT_THAT(result.err, Not(HasSubstr(other.expected)));
      }
    }
    messages.insert(result.err);
  }
  EXPECT_EQ(messages.size(), cases.size());
}

TEST_F(auth_tls_test, insecure_copies_from_an_untrusted_server_and_warns) {
  redis_server source(tls_server(tls_.other_ca_server()));
  redis_server target;
  client_options unverified = source.connect_options();
  unverified.tls->verify = false;
  sync_client source_client(unverified);
  fill_strings(source_client, 500, 20, 5);
  auto args = copy_args(source.url(), target.url());
  args.push_back("--insecure");
  const ferry_result result = run_ferry(args);
  ASSERT_EQ(result.exit_code, 0) << result.output();
  EXPECT_THAT(result.err, HasSubstr("WARNING: TLS verification is OFF for the source"));
  EXPECT_THAT(result.err, HasSubstr(source.url()));
  sync_client target_client = target.client();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");
}

TEST_F(auth_tls_test, a_client_certificate_is_presented_when_the_server_asks) {
  server_options options;
  options.tls = make_server_tls(tls_, /*auth_clients=*/true);
  redis_server target(options);
  redis_server source;
  sync_client source_client = source.client();
  fill_strings(source_client, 300, 20, 6);

  const ferry_result without = run_ferry(copy_args(source.url(), target.url()), 60s);
  EXPECT_EQ(without.exit_code, 2) << without.output();
  EXPECT_THAT(without.err, HasSubstr(std::to_string(target.port())));
  EXPECT_THAT(without.err, HasSubstr("client certificate"));

  auto args = copy_args(source.url(), target.url());
  args.insert(args.end(), {"--target-cert", tls_.client().cert.string(), "--target-key",
                           tls_.client().key.string()});
  const ferry_result with = run_ferry(args);
  ASSERT_EQ(with.exit_code, 0) << with.output();
  sync_client target_client = target.client();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");
}

}  // namespace
}  // namespace ferry::testing
