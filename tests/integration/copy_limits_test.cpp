// `ferry copy` into a target whose proto-max-bulk-len is smaller than some DUMP payloads.
//
// Redis answers such a RESTORE with "-ERR Protocol error: invalid bulk length" and closes the
// connection, so the commands pipelined after it get no reply at all. The big keys must be
// reported as too large (with the payload size and the limit's name), every other key must be
// copied exactly and promptly, and none may be reported failed. ferry learns the limit from the
// refusal itself (it does not ask CONFIG GET, which its user should not need and managed
// services refuse); the cases run with CONFIG available and renamed away to show that neither
// changes the outcome.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

/// Random bytes: DUMP compresses, and a compressible value would fit the target's limit.
std::string random_bytes(std::size_t size, std::mt19937& random) {
  std::string text(size, '\0');
  for (char& c : text) c = static_cast<char>(random());
  return text;
}

/// How the scenario varies: whether the target has CONFIG at all, and the policy.
struct limits_case {
  /// Start the target with CONFIG renamed away, as managed services do.
  bool config_disabled = false;
  /// --on-existing value; empty for none (the target starts empty).
  std::string on_existing;
};

std::string case_name(const ::testing::TestParamInfo<limits_case>& info) {
  return std::string(info.param.config_disabled ? "config_disabled" : "config_readable") + "_" +
         (info.param.on_existing.empty() ? "no_policy" : info.param.on_existing);
}

class copy_limits_test : public ::testing::TestWithParam<limits_case> {
 protected:
  temp_dir dir_{"copy-limits"};
  tls_material tls_;
};

TEST_P(copy_limits_test, keys_over_the_targets_bulk_limit_fail_and_the_rest_is_exact) {
  redis_server source;
  server_options target_options;
  target_options.tls = make_server_tls(tls_);
  target_options.extra_args = {"--proto-max-bulk-len", "1mb"};
  if (GetParam().config_disabled) {
    target_options.extra_args.insert(target_options.extra_args.end(),
                                     {"--rename-command", "CONFIG", ""});
  }
  redis_server target(target_options);
  sync_client source_client = source.client();
  sync_client target_client = target.client();

  dataset_options data;
  data.count_per_kind = 20;
  data.big_per_kind = 1;
  const fill_result every_type = fill_every_type(source_client, data);
  const fill_result strings = fill_strings(source_client, 3'000, 64, 7);
  // Three keys whose DUMP payloads are about 2 MiB: a string, a hash and a list.
  std::mt19937 random(11);
  source_client.checked({"SET", "big:string", random_bytes(2 << 20, random)});
  std::vector<std::string> hset{"HSET", "big:hash"};
  for (int i = 0; i < 1024; ++i) {
    hset.push_back("field:" + std::to_string(i));
    hset.push_back(random_bytes(2048, random));
  }
  source_client.checked(hset);
  std::vector<std::string> rpush{"RPUSH", "big:list"};
  for (int i = 0; i < 512; ++i) rpush.push_back(random_bytes(4096, random));
  source_client.checked(rpush);
  std::map<std::string, std::size_t> big_payloads;
  for (const char* key : {"big:string", "big:hash", "big:list"}) {
    big_payloads[key] = source_client.checked({"DUMP", key}).str.size();
    ASSERT_GT(big_payloads[key], std::size_t{1} << 20) << key;
  }
  // A string goes by value (GET, then SET): what is sent is the value itself.
  big_payloads["big:string"] = source_client.checked({"GET", "big:string"}).str.size();
  const std::size_t small_keys = every_type.keys + strings.keys;

  std::vector<std::string> args{"copy",
                                "--source",
                                source.url(),
                                "--target",
                                target.url(),
                                "--cacert",
                                tls_.ca().cert.string(),
                                "--report",
                                (dir_ / "report.json").string(),
                                "--failed-keys",
                                (dir_ / "failed.jsonl").string(),
                                "--progress",
                                "never"};
  if (!GetParam().on_existing.empty()) {
    args.insert(args.end(), {"--on-existing", GetParam().on_existing});
  }
  const ferry_result run = run_ferry(args, std::chrono::seconds{60});
  EXPECT_EQ(run.exit_code, 1) << run.output();
  // Promptly: no waiting out a timeout or a long backoff.
  EXPECT_LT(run.seconds, 10.0) << run.output();

  // The hash and the list go by struct mode, in pieces under the limit; the string cannot (a
  // string over proto-max-bulk-len cannot be written however it is sent): exactly it is failed,
  // with the reason and its size.
  std::set<std::string> failed;
  for (const auto& line : read_json_lines(dir_ / "failed.jsonl")) {
    const std::string key = line["key"].get<std::string>();
    failed.insert(key);
    EXPECT_EQ(line["kind"], "key_too_large") << line.dump();
    const std::string error = line["error"].get<std::string>();
    EXPECT_THAT(error, HasSubstr("proto-max-bulk-len")) << line.dump();
    if (big_payloads.contains(key)) {
      EXPECT_THAT(error, HasSubstr(std::to_string(big_payloads[key]))) << line.dump();
    }
  }
  EXPECT_EQ(failed, (std::set<std::string>{"big:string"}));

  // Every other key is on the target, exactly (the independent oracle), and nothing else.
  keyspace expected;
  for (auto& key : dump_keyspace(source_client)) {
    if (key.key != "big:string") expected.push_back(std::move(key));
  }
  ASSERT_EQ(expected.size(), small_keys + 2);
  EXPECT_EQ(diff_keyspaces(expected, dump_keyspace(target_client)), "");

  std::ifstream report_file(dir_ / "report.json");
  const auto report = nlohmann::json::parse(report_file);
  EXPECT_EQ(report["totals"]["failed"], 1) << report.dump();
  EXPECT_EQ(report["totals"]["copied"], small_keys + 2) << report.dump();
  EXPECT_EQ(report["totals"]["struct_reasons"]["over_bulk_limit"], 2) << report.dump();
}

// Keys that an earlier, killed run wrote meet BUSYKEY when the resumed run writes them again
// with --on-existing fail; they are ours and count as copied. Sets and hashes over the listpack
// limits are hash tables, whose DUMP order depends on each server's hash seed: the target's DUMP
// of such a key differs from the source's payload, and the check must still recognise it.
TEST(copy_resume_test, keys_an_earlier_run_wrote_count_as_copied_hash_tables_included) {
  using namespace std::chrono_literals;
  temp_dir dir{"copy-resume"};
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  std::vector<std::vector<std::string>> fill;
  for (int i = 0; i < 1'000; ++i) {
    std::vector<std::string> sadd{"SADD", "set:" + std::to_string(i)};
    std::vector<std::string> hset{"HSET", "hash:" + std::to_string(i)};
    for (int m = 0; m < 600; ++m) {
      sadd.push_back("member-" + std::to_string(m));
      hset.push_back("field-" + std::to_string(m));
      hset.push_back("value-" + std::to_string(m * i));
    }
    fill.push_back(std::move(sadd));
    fill.push_back(std::move(hset));
  }
  source_client.pipeline(fill);
  ASSERT_EQ(source_client.checked({"OBJECT", "ENCODING", "set:1"}).str, "hashtable");
  ASSERT_EQ(source_client.checked({"OBJECT", "ENCODING", "hash:1"}).str, "hashtable");

  const std::filesystem::path state = dir / "state.json";
  const std::filesystem::path failed = dir / "failed.jsonl";
  std::vector<std::string> args{"copy",         "--source",      source.url(),
                                "--target",     target.url(),    "--state",
                                state.string(), "--failed-keys", failed.string(),
                                "--progress",   "never",         "--checkpoint-interval",
                                "0.2"};
  {
    auto slow = args;
    slow.insert(slow.end(), {"--max-keys-per-sec", "1000"});
    ferry_process first(slow, dir.path());
    std::this_thread::sleep_for(1500ms);
    ASSERT_TRUE(first.running()) << first.err_so_far();
    first.signal(SIGKILL);
    first.wait(30s);
  }
  const auto written = target_client.checked({"DBSIZE"}).integer;
  ASSERT_GT(written, 0);
  ASSERT_LT(written, 2'000);

  args.insert(args.end(), {"--resume", "--on-existing", "fail"});
  const ferry_result resumed = run_ferry(args, 60s);
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output();
  EXPECT_EQ(read_json_lines(failed).size(), 0u);
  EXPECT_EQ(diff_keyspaces(dump_keyspace(source_client), dump_keyspace(target_client)), "");
}

INSTANTIATE_TEST_SUITE_P(targets, copy_limits_test,
                         ::testing::Values(limits_case{false, ""}, limits_case{false, "fail"},
                                           limits_case{true, ""}, limits_case{true, "fail"}),
                         case_name);

}  // namespace
}  // namespace ferry::testing
