// `ferry plan` against real standalone servers: each blocker and warning appears exactly when its
// condition holds, and the figures agree with what the servers say themselves (TYPE, PTTL,
// MEMORY USAGE and DBSIZE read by the test's own client).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "tests/integration/plan_support.hpp"
#include "tests/support/acl_rules.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

/// What ferry plan needs on a source besides ferry copy's rules (README, "Planning a migration"):
/// TYPE is needed; the rest is optional (refused, the plan says what it could not see).
const std::vector<std::string> plan_source_rules = {
    "+type", "+memory|usage", "+strlen",     "+llen",       "+scard",      "+zcard",
    "+hlen", "+xlen",         "+config|get", "+acl|whoami", "+acl|dryrun", "+function|list"};

std::string random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::string text(size, '\0');
  for (char& c : text) c = static_cast<char>(random());
  return text;
}

/// What the test's own client sees in db 0: type counts, keys with an expiry, keys of at least
/// `big` bytes by MEMORY USAGE.
struct oracle {
  std::map<std::string, long long> types;
  long long with_ttl = 0;
  long long big = 0;
  long long keys = 0;
};

oracle look(sync_client& client, long long big) {
  oracle o;
  std::string cursor = "0";
  do {
    const reply scan = client.checked({"SCAN", cursor, "COUNT", "500"});
    cursor = scan[0].str;
    for (const auto& key : scan[1].elements) {
      ++o.keys;
      ++o.types[client.checked({"TYPE", key.str}).str];
      if (client.checked({"PTTL", key.str}).integer >= 0) ++o.with_ttl;
      if (client.checked({"MEMORY", "USAGE", key.str}).integer >= big) ++o.big;
    }
  } while (cursor != "0");
  return o;
}

class plan_test : public ::testing::Test {
 protected:
  temp_dir dir_{"plan"};
};

TEST_F(plan_test, standalone_source_with_databases_big_keys_and_ttls) {
  redis_server source;
  redis_server target;
  sync_client client = source.client();
  dataset_options data;
  data.count_per_kind = 20;
  data.big_per_kind = 2;
  data.with_expiry_fraction = 0.2;
  fill_every_type(client, data);
  client.checked({"SET", "big:blob", random_bytes(3 << 20, 7)});
  client.checked({"PEXPIRE", "big:blob", "86400000"});
  {
    sync_client db3 = source.client();
    db3.checked({"SELECT", "3"});
    fill_strings(db3, 25, 10, 3, "other:");
  }
  const oracle seen = look(client, 2 << 20);
  ASSERT_GE(seen.big, 1);

  const plan_run run = run_plan({"--source", source.url(), "--target", target.url(), "--sample",
                                 "100000", "--big-key-bytes", "2mib"},
                                dir_);
  ASSERT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.codes(),
            (std::set<std::string>{"several_databases", "notifications_off", "big_keys"}))
      << listed(run.codes());
  EXPECT_THAT(run.result.out, HasSubstr("VERDICT: ready with warnings (0 blockers, 3 warnings"));
  EXPECT_THAT(run.result.out, HasSubstr("big:blob"));
  EXPECT_THAT(run.finding("several_databases")["message"].get<std::string>(),
              HasSubstr("db3 (25 keys)"));

  // The figures are the servers' own.
  const auto& s = run.json["source"];
  EXPECT_EQ(s["keys"], seen.keys);
  EXPECT_EQ(s["cluster"], false);
  EXPECT_EQ(s["masters"][0]["dbsize"], seen.keys);
  EXPECT_EQ(s["masters"][0]["version"],
            info_field(client.checked({"INFO", "server"}).str, "redis_version"));
  EXPECT_TRUE(s["masters"][0]["modules"].empty());
  const auto& sample = run.json["sample"];
  EXPECT_EQ(sample["keys"], seen.keys);  // --sample exceeds the keys: every key was looked at
  for (const auto& [type, count] : seen.types) {
    EXPECT_EQ(sample["types"][type]["keys"], count) << type;
  }
  EXPECT_EQ(sample["with_ttl"], seen.with_ttl);
  EXPECT_EQ(sample["big_key_count"], seen.big);
  EXPECT_EQ(sample["largest"][0]["key"], "big:blob");
  EXPECT_EQ(sample["largest"][0]["type"], "string");
  EXPECT_GT(sample["largest"][0]["ttl_ms"].get<long long>(), 80'000'000);
  EXPECT_EQ(sample["measured_by"]["memory_usage"], seen.keys);
  EXPECT_GT(sample["binary_names"].get<long long>(), 0);  // the dataset's odd names
  EXPECT_GT(sample["hash_tagged"].get<long long>(), 0);
  // The probe read payloads and their trailer: Redis 7.0 writes RDB version 10.
  const auto& probe = s["masters"][0]["dump_probe"];
  EXPECT_GT(probe["keys"].get<long long>(), 0);
  EXPECT_GT(probe["keys_per_sec"].get<double>(), 0);
  EXPECT_EQ(probe["rdb_version"], 10);
  EXPECT_TRUE(run.json["estimates"]["time"]["copy_seconds"].is_number());
  EXPECT_EQ(run.json["estimates"]["skus"]["recommended"], "balanced");  // B0 holds a few MB
}

TEST_F(plan_test, keyspace_notifications_warn_until_sync_has_its_classes) {
  redis_server source;
  sync_client client = source.client();
  fill_strings(client, 100, 10);
  const auto plan = [&] { return run_plan({"--source", source.url()}, dir_); };

  plan_run off = plan();
  EXPECT_EQ(off.result.exit_code, 1) << off.result.output();
  EXPECT_EQ(off.codes(), (std::set<std::string>{"notifications_off", "no_target"}));

  client.checked({"CONFIG", "SET", "notify-keyspace-events", "Ex"});
  plan_run partial = plan();
  ASSERT_TRUE(partial.codes().count("notifications_off")) << listed(partial.codes());
  // The server spells the flags its own way ("xE"); ferry adds what is missing to them.
  const std::string as_set = client.checked({"CONFIG", "GET", "notify-keyspace-events"})[1].str;
  EXPECT_THAT(partial.finding("notifications_off")["advice"].get<std::string>(),
              HasSubstr("'" + as_set + "KA'"));

  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KEA"});
  plan_run on = plan();
  EXPECT_EQ(on.result.exit_code, 0) << on.result.output();
  EXPECT_EQ(on.codes(), (std::set<std::string>{"no_target"}));
  EXPECT_THAT(on.result.out, HasSubstr("VERDICT: ready (0 blockers, 0 warnings, 1 note"));
}

TEST_F(plan_test, a_target_too_small_is_a_blocker_and_one_with_room_is_not) {
  redis_server source;
  sync_client client = source.client();
  fill_strings(client, 20'000, 200);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});

  server_options small;
  small.maxmemory = "3mb";
  redis_server tight(small);
  // Every key (no "sample only" note), quickly.
  const std::vector<std::string> all = {"--sample", "100000", "--max-keys-per-sec", "200000"};
  const auto plan = [&](const redis_server& target) {
    std::vector<std::string> args{"--source", source.url(), "--target", target.url()};
    args.insert(args.end(), all.begin(), all.end());
    return run_plan(args, dir_);
  };
  const plan_run blocked = plan(tight);
  EXPECT_EQ(blocked.result.exit_code, 2) << blocked.result.output();
  EXPECT_EQ(blocked.codes("blocker"), (std::set<std::string>{"target_too_small"}));
  EXPECT_EQ(blocked.codes("warning"), (std::set<std::string>{}));
  EXPECT_THAT(blocked.result.out, HasSubstr("VERDICT: blocked (1 blocker"));

  server_options roomy;
  roomy.maxmemory = "512mb";
  redis_server wide(roomy);
  const plan_run fine = plan(wide);
  EXPECT_EQ(fine.result.exit_code, 0) << fine.result.output();
  EXPECT_TRUE(fine.codes().empty()) << listed(fine.codes());

  wide.client().checked({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  const plan_run evicting = plan(wide);
  EXPECT_EQ(evicting.codes(), (std::set<std::string>{"target_evicts"}));
}

TEST_F(plan_test, a_target_that_refuses_restore_is_a_warning_struct_mode_takes) {
  redis_server source;
  sync_client client = source.client();
  fill_strings(client, 50, 10);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});
  server_options no_restore;
  no_restore.extra_args = {"--rename-command", "RESTORE", ""};
  redis_server target(no_restore);

  const plan_run run = run_plan({"--source", source.url(), "--target", target.url()}, dir_);
  EXPECT_EQ(run.result.exit_code, 1) << run.result.output();
  EXPECT_EQ(run.codes("warning"), (std::set<std::string>{"restore_refused"}));
  EXPECT_EQ(run.json["target"]["masters"][0]["restore_available"], false);
  EXPECT_EQ(run.json["capabilities"]["struct_mode"], true);
}

TEST_F(plan_test, a_non_empty_target_is_a_blocker) {
  redis_server source;
  redis_server target;
  sync_client client = source.client();
  fill_strings(client, 50, 10);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});
  target.client().checked({"SET", "left:over", "1"});
  const plan_run run = run_plan({"--source", source.url(), "--target", target.url()}, dir_);
  EXPECT_EQ(run.result.exit_code, 2) << run.result.output();
  EXPECT_EQ(run.codes(), (std::set<std::string>{"target_not_empty"}));
  EXPECT_THAT(run.finding("target_not_empty")["message"].get<std::string>(),
              HasSubstr("already holds 1 key"));
}

TEST_F(plan_test, ferrys_missing_permissions_are_named_and_acl_users_noticed) {
  redis_server source;
  sync_client admin = source.client();
  fill_strings(admin, 50, 10);
  admin.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});
  // A user with ferry copy's source rules and plan's, but no +dump.
  std::vector<std::string> rules = joined(source_rules_copy(), plan_source_rules);
  rules.push_back("-dump");
  add_user(admin, "planner", "pw-for-planner", rules);
  const std::string url =
      "redis://planner:pw-for-planner@127.0.0.1:" + std::to_string(source.port());

  const plan_run missing = run_plan({"--source", url}, dir_);
  EXPECT_EQ(missing.result.exit_code, 2) << missing.result.output();
  EXPECT_EQ(missing.codes("blocker"), (std::set<std::string>{"source_permissions"}));
  EXPECT_THAT(missing.finding("source_permissions")["message"].get<std::string>(),
              HasSubstr("dump"));
  // ACL LIST is not in the rules: the users stay unknown rather than failing the plan; the DUMP
  // probe is refused and says so.
  EXPECT_TRUE(missing.json["source"]["masters"][0]["acl_users"].is_null());
  EXPECT_THAT(missing.json["source"]["masters"][0]["dump_probe"]["note"].get<std::string>(),
              HasSubstr("DUMP refused"));
  EXPECT_EQ(missing.result.out.find("pw-for-planner"), std::string::npos);

  add_user(admin, "planner", "pw-for-planner", joined(source_rules_copy(), plan_source_rules));
  const plan_run allowed = run_plan({"--source", url}, dir_);
  EXPECT_EQ(allowed.codes("blocker"), (std::set<std::string>{})) << allowed.result.output();
  EXPECT_TRUE(allowed.json["source"]["masters"][0]["permissions"]["checked"].get<bool>());

  // As the default user, the other user is seen: ACL users do not move with the data.
  const plan_run users = run_plan({"--source", source.url()}, dir_);
  EXPECT_TRUE(users.codes().count("acl_users")) << listed(users.codes());
  EXPECT_THAT(users.finding("acl_users")["message"].get<std::string>(), HasSubstr("planner"));
}

TEST_F(plan_test, pubsub_buffers_too_small_for_the_write_rate_while_the_application_writes) {
  redis_server source;
  sync_client client = source.client();
  fill_strings(client, 1000, 10);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});
  // The application: about 2,000 SETs a second, for as long as the plans run (bounded).
  std::atomic<bool> stop{false};
  std::atomic<long long> written{0};
  std::thread writer([&] {
    sync_client app = source.client();
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (!stop && std::chrono::steady_clock::now() < until) {
      std::vector<std::vector<std::string>> batch;
      for (int i = 0; i < 20; ++i) batch.push_back({"SET", fmt::format("app:{}", i), "v"});
      app.pipeline(batch);
      written += 20;
      std::this_thread::sleep_for(10ms);
    }
  });
  const auto plan = [&] {
    const long long before = written;
    const auto started = std::chrono::steady_clock::now();
    plan_run run = run_plan({"--source", source.url(), "--observe", "2"}, dir_);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::pair{std::move(run), static_cast<double>(written - before) / seconds};
  };
  auto [roomy, roomy_rate] = plan();
  client.checked({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 128kb 60"});
  auto [tight, tight_rate] = plan();
  stop = true;
  writer.join();

  ASSERT_GT(roomy_rate, 300) << "the writer thread did not get going";
  // Default limits (32 MB / 8 MB) hold 10 s of events at this rate; 128 KB does not.
  EXPECT_FALSE(roomy.codes().count("pubsub_buffer_small")) << roomy.result.output();
  ASSERT_TRUE(tight.codes().count("pubsub_buffer_small")) << tight.result.output();
  // The writes measured are the application's, within generous margins on a noisy machine.
  const double measured = tight.json["source"]["masters"][0]["window"]["writes_per_sec"];
  EXPECT_GT(measured, tight_rate * 0.5) << tight.result.output();
  EXPECT_LT(measured, tight_rate * 1.5) << tight.result.output();
  EXPECT_TRUE(tight.json["estimates"]["time"]["sync_keeps_up"].get<bool>());
}

TEST_F(plan_test, a_tls_target_is_verified_and_a_certificate_problem_stops_the_plan) {
  tls_material tls;
  redis_server source;
  server_options options;
  options.tls = make_server_tls(tls);
  redis_server target(options);
  sync_client client = source.client();
  fill_strings(client, 20, 10);
  client.checked({"CONFIG", "SET", "notify-keyspace-events", "KA"});

  const plan_run trusted = run_plan({"--source", source.url(), "--target", target.url(),
                                     "--target-cacert", tls.ca().cert.string()},
                                    dir_);
  EXPECT_EQ(trusted.result.exit_code, 0) << trusted.result.output();
  EXPECT_TRUE(trusted.json["target"]["tls"].get<bool>());

  // Without the CA the system's store does not know the test CA: the plan cannot run, and says
  // why and what to do.
  const plan_run untrusted = run_plan({"--source", source.url(), "--target", target.url()}, dir_);
  EXPECT_EQ(untrusted.result.exit_code, 2) << untrusted.result.output();
  EXPECT_THAT(untrusted.result.err, HasSubstr("TLS"));
  EXPECT_THAT(untrusted.result.err, HasSubstr("--cacert"));
}

TEST_F(plan_test, an_unreachable_target_and_a_bad_command_line) {
  redis_server source;
  const plan_run down =
      run_plan({"--source", source.url(), "--target", "redis://127.0.0.1:1"}, dir_);
  EXPECT_EQ(down.result.exit_code, 2) << down.result.output();
  EXPECT_THAT(down.result.err, HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(down.result.out, HasSubstr("VERDICT: could not run"));
  EXPECT_EQ(down.json["verdict"], "could not run");

  const plan_run usage = run_plan({"--source", source.url(), "--sample", "lots"}, dir_);
  EXPECT_EQ(usage.result.exit_code, 64) << usage.result.output();
}

}  // namespace
}  // namespace ferry::testing
