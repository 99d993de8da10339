// `ferry verify` against real servers: no false positives on a copied dataset of every type
// (hash tables rebuilt in another order included), every planted difference reported with its
// kind and nothing else, repair back to an exact copy (judged by the harness's oracle), TLS,
// quick mode, scripts refused, and the exit codes.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "tests/integration/verify_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/expectations.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/tls_material.hpp"

#ifndef FERRY_BINARY
#error "FERRY_BINARY must name the ferry executable"
#endif

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

/// Deletes every hash-table-encoded hash and set of `target` and writes it again with its
/// elements in reverse order (and its expiry back): equal data, another serialisation.
std::size_t rebuild_hash_tables_in_reverse(sync_client& target) {
  std::size_t rebuilt = 0;
  for (const char* type : {"hash", "set"}) {
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      const reply page = target.checked({"SCAN", cursor, "COUNT", "1000", "TYPE", type});
      cursor = page[0].str;
      for (const auto& key : page[1].elements) keys.push_back(key.str);
    } while (cursor != "0");
    for (const std::string& key : keys) {
      if (target.checked({"OBJECT", "ENCODING", key}).str != "hashtable") continue;
      const long long expire_at = target.checked({"PEXPIRETIME", key}).integer;
      std::vector<std::string> rebuild{type == std::string("hash") ? "HSET" : "SADD", key};
      const reply all = target.checked({type == std::string("hash") ? "HGETALL" : "SMEMBERS", key});
      const std::size_t stride = type == std::string("hash") ? 2 : 1;
      for (std::size_t i = all.elements.size(); i >= stride; i -= stride) {
        for (std::size_t j = i - stride; j < i; ++j) rebuild.push_back(all[j].str);
      }
      target.checked({"DEL", key});
      target.checked(rebuild);
      if (expire_at > 0) target.checked({"PEXPIREAT", key, std::to_string(expire_at)});
      ++rebuilt;
    }
  }
  return rebuilt;
}

class verify_test : public ::testing::Test {
 protected:
  temp_dir dir_{"verify"};
  tls_material tls_;

  server_options tls_server() const {
    server_options options;
    options.tls = make_server_tls(tls_);
    return options;
  }
  std::vector<std::string> cacert() const { return {"--cacert", tls_.ca().cert.string()}; }
};

TEST_F(verify_test, a_copied_dataset_of_every_type_has_no_false_positives) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 300;
  data.big_per_kind = 20;
  data.with_expiry_fraction = 0.2;
  const fill_result filled = fill_every_type(source_client, data);
  fill_strings(source_client, 100'000, 32, 11);
  const ferry_result copy = run_ferry(
      {"copy", "--source", source.url(), "--target", target.url(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output();
  const std::size_t rebuilt = rebuild_hash_tables_in_reverse(target_client);
  ASSERT_GT(rebuilt, 300u);
  ASSERT_EQ(debug_digest(source_client), debug_digest(target_client));  // still equal data

  const verify_run run(dir_, source.url(), target.url());
  ASSERT_EQ(run.result.exit_code, 0) << run.result.output() << run.diff_text();
  const auto totals = run.totals();
  const std::uint64_t keys = filled.keys + 100'000;
  EXPECT_EQ(totals["checked"], keys);
  EXPECT_EQ(totals["equal"], keys);
  EXPECT_EQ(totals["differences"], 0);
  EXPECT_EQ(totals["changed"], 0);
  // Nothing wrote to the target during the check and it holds exactly the keys compared: the
  // count proves there is no extra key, with no scan of the target (verify_extra_proof_test).
  EXPECT_EQ(run.report()["extra_keys"]["pass"], "proven_unnecessary") << run.result.output();
  EXPECT_EQ(totals["target_scanned"], 0);
  // Rebuilt hash tables serialise differently: they were compared member by member.
  EXPECT_GT(totals["deep"].get<std::uint64_t>(), 100u);
  EXPECT_TRUE(run.diffs().empty());
  EXPECT_THAT(run.result.out, HasSubstr("the target equals the source"));
  RecordProperty("verify_seconds", static_cast<int>(run.result.seconds * 1000));
  EXPECT_LT(run.result.seconds, 30) << "verifying ~103k keys took too long";
}

TEST_F(verify_test, every_planted_difference_is_reported_with_its_kind_and_repair_fixes_it) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.count_per_kind = 20;
  data.big_per_kind = 2;
  data.with_expiry_fraction = 0.3;
  data.expiry_base_ms = now_ms();
  fill_every_type(source_client, data);
  fill_every_type(target_client, data);  // built independently: equal data
  const keyspace reference = dump_keyspace(source_client);
  const auto expected = plant_differences(target_client, reference);

  const verify_run found(dir_, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(), expected) << found.diff_text();
  auto totals = found.totals();
  EXPECT_EQ(totals["missing"], 1);
  EXPECT_EQ(totals["extra"], 1);
  EXPECT_EQ(totals["type"], 1);
  EXPECT_EQ(totals["expiry"], 3);
  EXPECT_EQ(totals["value"], 8);
  EXPECT_EQ(totals["changed"], 0);
  for (const auto& line : found.diffs()) {
    EXPECT_TRUE(line.contains("key_base64") && line.contains("source") && line.contains("target"))
        << line.dump();
    EXPECT_FALSE(line.contains("repaired")) << line.dump();
  }
  EXPECT_THAT(found.result.err, HasSubstr("differs"));

  // With no server-side digests at all, every key is compared element by element: the same
  // differences, and no others.
  const verify_run deep(dir_, source.url(), target.url(), {"--digest-max-bytes", "0"});
  EXPECT_EQ(deep.result.exit_code, 1) << deep.result.output();
  EXPECT_EQ(deep.kinds(), expected) << deep.diff_text();
  EXPECT_EQ(deep.totals()["deep"], deep.totals()["checked"].get<std::uint64_t>() -
                                       deep.totals()["missing"].get<std::uint64_t>() -
                                       deep.totals()["type"].get<std::uint64_t>());

  const verify_run repaired(dir_, source.url(), target.url(),
                            {"--repair", "--repair-delete-extra"});
  EXPECT_EQ(repaired.result.exit_code, 0) << repaired.result.output() << repaired.diff_text();
  EXPECT_EQ(repaired.kinds(), expected);
  for (const auto& line : repaired.diffs())
    EXPECT_TRUE(line["repaired"].get<bool>()) << line.dump();
  EXPECT_EQ(repaired.totals()["repaired"], expected.size());
  // The independent oracle: the target is an exact copy again.
  EXPECT_TRUE(keyspaces_equal(dump_keyspace(source_client), dump_keyspace(target_client)));
  EXPECT_EQ(debug_digest(source_client), debug_digest(target_client));

  const verify_run clean(dir_, source.url(), target.url());
  EXPECT_EQ(clean.result.exit_code, 0) << clean.result.output() << clean.diff_text();
  EXPECT_TRUE(clean.diffs().empty());
  const verify_run clean_deep(dir_, source.url(), target.url(), {"--digest-max-bytes", "0"});
  EXPECT_EQ(clean_deep.result.exit_code, 0) << clean_deep.result.output() << clean_deep.diff_text();
}

TEST_F(verify_test, over_tls_in_full_and_quick_mode) {
  redis_server source(tls_server());
  redis_server target(tls_server());
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.expiry_base_ms = now_ms();
  fill_every_type(source_client, data);
  fill_every_type(target_client, data);

  std::vector<std::string> quick = cacert();
  quick.insert(quick.end(), {"--mode", "quick"});
  EXPECT_EQ(verify_run(dir_, source.url(), target.url(), cacert()).result.exit_code, 0);
  EXPECT_EQ(verify_run(dir_, source.url(), target.url(), quick).result.exit_code, 0);

  // Same length, other bytes: full mode sees it, quick mode (lengths only) cannot.
  target_client.checked({"SETRANGE", "str:raw:0", "0", "#"});
  const verify_run full_run(dir_, source.url(), target.url(), cacert());
  EXPECT_EQ(full_run.result.exit_code, 1) << full_run.result.output();
  EXPECT_EQ(full_run.kinds(), (std::map<std::string, std::string>{{"str:raw:0", "value"}}));
  EXPECT_EQ(verify_run(dir_, source.url(), target.url(), quick).result.exit_code, 0);

  target_client.checked({"RPUSH", "list:listpack:0", "one more"});
  const verify_run quick_run(dir_, source.url(), target.url(), quick);
  EXPECT_EQ(quick_run.result.exit_code, 1) << quick_run.result.output();
  EXPECT_EQ(quick_run.kinds(), (std::map<std::string, std::string>{{"list:listpack:0", "value"}}));
  EXPECT_THAT(quick_run.result.out, HasSubstr("quick mode"));
}

TEST_F(verify_test, a_side_that_refuses_scripts_is_compared_through_dump) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  dataset_options data;
  data.expiry_base_ms = now_ms();
  fill_every_type(source_client, data);
  fill_every_type(target_client, data);
  target_client.checked(
      {"ACL", "SETUSER", "noscripts", "on", ">secret", "~*", "&*", "+@all", "-@scripting"});
  const std::string target_url = fmt::format("redis://noscripts@127.0.0.1:{}", target.port());

  const std::map<std::string, std::string> env{{"FERRY_TARGET_PASSWORD", "secret"}};
  const auto run = [&](std::string limit = "64MiB") {
    return run_ferry(
        {"verify", "--source", source.url(), "--target", target_url, "--progress", "never",
         "--diff", (dir_ / "diff.jsonl").string(), "--digest-max-bytes", limit},
        120s, env);
  };
  const ferry_result equal = run();
  EXPECT_EQ(equal.exit_code, 0) << equal.output();
  EXPECT_THAT(equal.err, HasSubstr("refused the digest script"));
  EXPECT_EQ(equal.err.find("secret"), std::string::npos);
  // Keys over the limit are not DUMPed into ferry but compared element by element.
  const ferry_result small_dumps = run("200");
  EXPECT_EQ(small_dumps.exit_code, 0) << small_dumps.output();

  target_client.checked({"HSET", "hash:listpack:0", "f0-new", "v"});
  const ferry_result different = run();
  EXPECT_EQ(different.exit_code, 1) << different.output();
  const auto lines = read_json_lines(dir_ / "diff.jsonl");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["key"], "hash:listpack:0");
  EXPECT_EQ(lines[0]["kind"], "value");
}

TEST_F(verify_test, extra_keys_are_found_unless_no_extra_and_match_limits_both_sides) {
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_strings(source_client, 1000, 16, 5, "a:");
  fill_strings(target_client, 1000, 16, 5, "a:");
  target_client.checked({"SET", "b:only-here", "x"});
  target_client.checked({"SET", "a:only-here", "x"});

  const verify_run all(dir_, source.url(), target.url());
  EXPECT_EQ(all.result.exit_code, 1);
  EXPECT_EQ(all.kinds(), (std::map<std::string, std::string>{{"a:only-here", "extra"},
                                                             {"b:only-here", "extra"}}));
  const verify_run matched(dir_, source.url(), target.url(), {"--match", "a:*"});
  EXPECT_EQ(matched.kinds(), (std::map<std::string, std::string>{{"a:only-here", "extra"}}));
  EXPECT_EQ(matched.totals()["checked"], 1000);
  const verify_run skipped(dir_, source.url(), target.url(), {"--no-extra"});
  EXPECT_EQ(skipped.result.exit_code, 0) << skipped.result.output();
  EXPECT_EQ(skipped.totals()["target_scanned"], 0);
  // --repair alone leaves extra keys where they are.
  const verify_run kept(dir_, source.url(), target.url(), {"--repair"});
  EXPECT_EQ(kept.result.exit_code, 1);
  EXPECT_EQ(target_client.checked({"EXISTS", "a:only-here", "b:only-here"}).integer, 2);
}

TEST_F(verify_test, exit_codes_for_usage_errors_and_jobs_that_cannot_run) {
  redis_server server;
  const auto usage = run_ferry({"verify", "--source", "http://x", "--target", server.url()});
  EXPECT_EQ(usage.exit_code, 64) << usage.output();
  const auto needs_repair = run_ferry(
      {"verify", "--source", server.url(), "--target", server.url(), "--repair-delete-extra"});
  EXPECT_EQ(needs_repair.exit_code, 64) << needs_repair.output();
  const auto bad_mode =
      run_ferry({"verify", "--source", server.url(), "--target", server.url(), "--mode", "fast"});
  EXPECT_EQ(bad_mode.exit_code, 64) << bad_mode.output();

  const std::uint16_t nobody = pick_free_port();
  const auto unreachable = run_ferry({"verify", "--source", server.url(), "--target",
                                      fmt::format("redis://127.0.0.1:{}", nobody),
                                      "--max-retry-time", "1", "--connect-timeout", "500"});
  EXPECT_EQ(unreachable.exit_code, 2) << unreachable.output();
  EXPECT_THAT(unreachable.err, HasSubstr("target"));
  const auto itself = run_ferry({"verify", "--source", server.url(), "--target", server.url()});
  EXPECT_EQ(itself.exit_code, 2) << itself.output();
  EXPECT_THAT(itself.err, HasSubstr("same server"));

  const auto help = run_ferry({"verify", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--diff", "--mode", "--ttl-tolerance", "--no-extra", "--rounds",
                             "--repair", "--repair-delete-extra", "--cacert", "--source-db"}) {
    EXPECT_THAT(help.out, HasSubstr(option));
  }
}

}  // namespace
}  // namespace ferry::testing
