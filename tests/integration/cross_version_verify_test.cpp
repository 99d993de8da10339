// `ferry verify` between servers of different versions (tests/support/server_versions.hpp): an
// exact copy (checked first against the independent oracle, DEBUG DIGEST or the sorted dump) has
// no false positive and needs no element-wise comparison (the canonical digest agrees where the
// DUMP payloads differ); a difference planted in every type is found with its kind; hash-field
// expiries (Redis 7.4) are compared: changed on a target that holds them, and a field expiry on
// the source that the target cannot hold is a difference that says so. Builds that are not on
// this machine are skipped.

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/verify_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/server_versions.hpp"

namespace ferry::testing {
namespace {

using ::testing::HasSubstr;

/// The one diff line of `key`, or an empty object.
nlohmann::json diff_of(const verify_run& run, const std::string& key) {
  for (const auto& line : run.diffs()) {
    if (line["key"] == key) return line;
  }
  return nlohmann::json::object();
}

/// The fill every test starts from: every type and encoding, expiries, odd names.
dataset_options mixed_data() {
  dataset_options data;
  data.count_per_kind = 20;
  data.big_per_kind = 2;
  data.with_expiry_fraction = 0.3;
  return data;
}

class cross_version_verify : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  temp_dir dir_{"xverify"};
};

TEST_P(cross_version_verify, an_exact_copy_verifies_and_every_planted_difference_is_found) {
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
  const fill_result filled = fill_every_type(source_client, mixed_data());
  const ferry_result copy = run_ferry(
      {"copy", "--source", source.url(), "--target", target.url(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output();
  // The oracle first: the copy is exact (as far as the keys' names, types and sizes go here;
  // cross_version_copy_test compares every value), so any difference verify finds is false.
  ASSERT_EQ(dump_keyspace(source_client).size(), dump_keyspace(target_client).size());

  const verify_run exact(dir_, source.url(), target.url());
  ASSERT_EQ(exact.result.exit_code, 0) << exact.result.output() << exact.diff_text();
  auto totals = exact.totals();
  EXPECT_EQ(totals["checked"], filled.keys);
  EXPECT_EQ(totals["equal"], filled.keys);
  EXPECT_EQ(totals["differences"], 0);
  // Across versions the canonical digest agrees on equal values whatever their encodings.
  // (Between equal versions DUMP digests of hash tables differ with each server's hash seed.)
  if (from != to) {
    EXPECT_EQ(totals["deep"], 0) << exact.result.output();
  }
  EXPECT_TRUE(exact.diffs().empty());

  const keyspace reference = dump_keyspace(source_client);
  auto expected = plant_differences(target_client, reference);
  std::string field_ttl_key;
  if (target.build().at_least(7, 4) && !target.build().valkey()) {
    // A field expiry the source does not have.
    field_ttl_key = "hash:listpack:0";
    const std::string field = keyed(target_client, {"HRANDFIELD", field_ttl_key}).str;
    keyed(target_client, {"HPEXPIRE", field_ttl_key, "3600000", "FIELDS", "1", field});
    expected[field_ttl_key] = "value";
  } else if (source.build().at_least(7, 4) && !source.build().valkey()) {
    // A field expiry on the source that the target cannot hold.
    field_ttl_key = "hash:listpack:0";
    const std::string field = keyed(source_client, {"HRANDFIELD", field_ttl_key}).str;
    keyed(source_client, {"HPEXPIRE", field_ttl_key, "3600000", "FIELDS", "1", field});
    expected[field_ttl_key] = "value";
  }

  const verify_run found(dir_, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(), expected) << found.diff_text();
  totals = found.totals();
  EXPECT_EQ(totals["changed"], 0);
  if (!field_ttl_key.empty()) {
    const std::string detail = diff_of(found, field_ttl_key).dump();
    EXPECT_THAT(detail, HasSubstr("expires")) << detail;
    if (!target.build().at_least(7, 4) || target.build().valkey()) {
      EXPECT_THAT(detail, HasSubstr("cannot hold field expiries")) << detail;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(versions, cross_version_verify,
                         ::testing::Values(std::pair<std::string, std::string>{"6.2", "7.4"},
                                           std::pair<std::string, std::string>{"7.4", "7.0"},
                                           std::pair<std::string, std::string>{"7.4", "valkey-8.0"},
                                           std::pair<std::string, std::string>{"valkey-8.0", "7.0"},
                                           std::pair<std::string, std::string>{"7.4", "6.2"},
                                           std::pair<std::string, std::string>{"7.4", "7.4"}),
                         [](const auto& param_info) {
                           std::string name =
                               param_info.param.first + "_to_" + param_info.param.second;
                           for (char& c : name) {
                             if (c == '.' || c == '-') c = '_';
                           }
                           return name;
                         });

/// Same version on both sides (the DUMP digest): hash-field expiries copied exactly verify
/// equal, and one moved on the target is found.
TEST(cross_version_verify_fields, field_expiries_between_two_7_4_servers) {
  FERRY_SKIP_UNLESS_SERVER("7.4");
  temp_dir dir{"xverify-fields"};
  server_options options;
  options.version = "7.4";
  redis_server source(options);
  redis_server target(options);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  fill_every_type(source_client, mixed_data());
  for (const char* key : {"hash:listpack:1", "hash:hashtable:1"}) {
    const std::string field = keyed(source_client, {"HRANDFIELD", key}).str;
    keyed(source_client, {"HPEXPIRE", key, "7200000", "FIELDS", "1", field});
  }
  const ferry_result copy = run_ferry(
      {"copy", "--source", source.url(), "--target", target.url(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output();
  ASSERT_EQ(debug_digest(source_client), debug_digest(target_client));

  const verify_run exact(dir, source.url(), target.url());
  ASSERT_EQ(exact.result.exit_code, 0) << exact.result.output() << exact.diff_text();

  // The same fields, the same values, another expiry on one of them.
  const std::string key = "hash:hashtable:1";
  const reply ttls = keyed(source_client, {"HGETALL", key});
  std::string with_ttl;
  for (std::size_t i = 0; i < ttls.elements.size(); i += 2) {
    const reply at = keyed(source_client, {"HPEXPIRETIME", key, "FIELDS", "1", ttls[i].str});
    if (at[0].integer > 0) with_ttl = ttls[i].str;
  }
  ASSERT_FALSE(with_ttl.empty());
  keyed(target_client, {"HPEXPIRE", key, "3600000", "FIELDS", "1", with_ttl});
  const verify_run found(dir, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  const std::map<std::string, std::string> want{{key, "value"}};
  EXPECT_EQ(found.kinds(), want) << found.diff_text();
  EXPECT_THAT(diff_of(found, key).dump(), HasSubstr("expires"));
}

/// 6.2 -> 7.4 with DUMP refused on both sides (an ACL from before it was in the README's rules):
/// the small values go to the canonical script instead, and the result is the same: no false
/// difference, none compared element by element, every planted difference found.
TEST(cross_version_verify_fallbacks, without_dump_the_canonical_script_serves) {
  FERRY_SKIP_UNLESS_SERVER("6.2");
  FERRY_SKIP_UNLESS_SERVER("7.4");
  temp_dir dir{"xverify-fallbacks"};
  server_options source_options, target_options;
  source_options.version = "6.2";
  target_options.version = "7.4";
  redis_server source(source_options);
  redis_server target(target_options);
  sync_client source_client = source.client();
  sync_client target_client = target.client();
  const fill_result filled = fill_every_type(source_client, mixed_data());
  const ferry_result copy = run_ferry(
      {"copy", "--source", source.url(), "--target", target.url(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output();
  ASSERT_EQ(dump_keyspace(source_client).size(), dump_keyspace(target_client).size());
  for (sync_client* admin : {&source_client, &target_client}) {
    admin->checked({"ACL", "SETUSER", "default", "-dump"});
  }

  const verify_run exact(dir, source.url(), target.url());
  ASSERT_EQ(exact.result.exit_code, 0) << exact.result.output() << exact.diff_text();
  auto totals = exact.totals();
  EXPECT_EQ(totals["equal"], filled.keys);
  EXPECT_EQ(totals["deep"], 0) << exact.result.output();
  // The refusal is what the server logged: ferry did try the cheaper command.
  const reply refusals = target_client.checked({"ACL", "LOG"});
  std::string logged;
  for (const auto& entry : refusals.elements) {
    for (const auto& field : entry.elements) logged += field.str + " ";
  }
  EXPECT_THAT(logged, HasSubstr("dump"));

  const keyspace reference = dump_keyspace(source_client);
  const auto expected = plant_differences(target_client, reference);
  const verify_run found(dir, source.url(), target.url());
  EXPECT_EQ(found.result.exit_code, 1) << found.result.output();
  EXPECT_EQ(found.kinds(), expected) << found.diff_text();
}

}  // namespace
}  // namespace ferry::testing
