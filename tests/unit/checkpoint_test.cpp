// The state file's JSON: round trip, 64-bit cursors, refusals of malformed or foreign states.

#include "engine/copy/checkpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ferry::engine {
namespace {

checkpoint sample() {
  checkpoint state;
  state.job = {
      "redis://127.0.0.1:6379/0", "rediss://host:10000/2", "user:*", "hash", "0-99", "1/3"};
  state.job_id = "00c0ffee00c0ffee";
  state.generation = 7;
  state.marks.push_back({"ferry:mark:{1}:00c0ffee00c0ffee", 9842, "127.0.0.1:7000", "run-9"});
  state.status = "interrupted";
  state.shards.push_back({"127.0.0.1:7000",
                          "abc",
                          "run-1",
                          {18446744073709551615ull, false,
                           counts{.scanned = 10,
                                  .copied = 7,
                                  .vanished = 1,
                                  .skipped = 1,
                                  .failed = 1,
                                  .bytes = 1234,
                                  .retries = 2,
                                  .rescanned = 3}},
                          slot_set{}.set(5).set(6)});
  state.shards.push_back({"127.0.0.1:7001", "def", "run-2", {0, true, counts{}}, std::nullopt});
  state.moved.set(16383);
  state.part_slots = slot_set{}.set(5).set(6).set(7);
  return state;
}

TEST(checkpoint, json_round_trip_keeps_everything) {
  const checkpoint state = sample();
  auto back = checkpoint_from_json(nlohmann::json::parse(to_json(state).dump()));
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back->job, state.job);
  EXPECT_EQ(back->status, "interrupted");
  ASSERT_EQ(back->shards.size(), 2u);
  EXPECT_EQ(back->shards[0].position.cursor, 18446744073709551615ull);
  EXPECT_EQ(back->shards[0].position.done.copied, 7u);
  EXPECT_EQ(back->shards[0].position.done.bytes, 1234u);
  EXPECT_EQ(back->shards[0].run_id, "run-1");
  EXPECT_TRUE(back->shards[1].position.complete);
  EXPECT_EQ(back->shards[0].position.done.rescanned, 3u);
  ASSERT_TRUE(back->shards[0].slots.has_value());
  EXPECT_EQ(slot_text(*back->shards[0].slots), "5-6");
  EXPECT_FALSE(back->shards[1].slots.has_value()) << "a state file from before resharding";
  EXPECT_EQ(slot_text(back->moved), "16383");
  EXPECT_EQ(back->job_id, "00c0ffee00c0ffee");
  EXPECT_EQ(back->generation, 7u);
  ASSERT_EQ(back->marks.size(), 1u);
  EXPECT_EQ(back->marks[0].key, "ferry:mark:{1}:00c0ffee00c0ffee");
  EXPECT_EQ(back->marks[0].slot, 9842);
  EXPECT_EQ(back->marks[0].node, "127.0.0.1:7000");
  EXPECT_EQ(back->marks[0].run_id, "run-9");
  EXPECT_EQ(back->job.part, "1/3");
  ASSERT_TRUE(back->part_slots.has_value());
  EXPECT_EQ(slot_text(*back->part_slots), "5-7");
}

TEST(checkpoint, a_job_that_is_not_split_has_no_part) {
  checkpoint state = sample();
  state.job.part.clear();
  state.part_slots.reset();
  const nlohmann::json json = to_json(state);
  EXPECT_FALSE(json.contains("part_slots"));
  auto back = checkpoint_from_json(json);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back->job.part, "");
  EXPECT_FALSE(back->part_slots.has_value());
  // A state file written before the split existed reads as a job that is not split.
  nlohmann::json older = json;
  older["job"].erase("part");
  back = checkpoint_from_json(older);
  ASSERT_TRUE(back.has_value()) << back.error();
  EXPECT_EQ(back->job.part, "");
  // Resuming another part is refused by name.
  job_identity other = state.job;
  other.part = "2/3";
  EXPECT_THAT(describe_differences(state.job, other),
              ::testing::HasSubstr("--shard-index/--shard-count: '' then, '2/3' now"));
}

TEST(checkpoint, identity_is_the_endpoint_not_how_its_secret_was_given) {
  protocol::endpoint with_password;
  with_password.host = "10.0.0.5";
  with_password.port = 6380;
  with_password.user = "app";
  with_password.password = "secret";
  with_password.db = 3;
  protocol::endpoint without = with_password;
  without.user.clear();
  without.password.clear();
  EXPECT_EQ(endpoint_identity(with_password), "redis://10.0.0.5:6380/3");
  EXPECT_EQ(endpoint_identity(with_password), endpoint_identity(without));
  // A version 1 state file held redacted URLs: read as identities.
  EXPECT_EQ(normalized_identity("redis://app:***@10.0.0.5:6380/3"), "redis://10.0.0.5:6380/3");
  EXPECT_EQ(normalized_identity("rediss://h:10000"), "rediss://h:10000/0");
}

TEST(checkpoint, cursors_are_strings_in_the_file) {
  // JSON numbers lose precision above 2^53 in many readers; cursors are 64-bit.
  const auto json = to_json(sample());
  EXPECT_TRUE(json["shards"][0]["cursor"].is_string());
}

TEST(checkpoint, malformed_states_are_refused_with_a_reason) {
  auto json = to_json(sample());
  json["version"] = 9;
  auto result = checkpoint_from_json(json);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error(), ::testing::HasSubstr("version 9"));

  json = to_json(sample());
  json["shards"][0].erase("cursor");
  EXPECT_FALSE(checkpoint_from_json(json).has_value());
}

TEST(checkpoint, versions_generations_and_mark_slots_must_be_whole_numbers_in_range) {
  // Found by the checkpoint fuzzer's long run: "version": 118446744073709551616 (a float to
  // nlohmann) went through get<int>, which is undefined behaviour.
  for (const nlohmann::json& bad :
       {nlohmann::json(1.18446744073709551616e20), nlohmann::json(2.5), nlohmann::json(-1),
        nlohmann::json(std::uint64_t{1} << 63), nlohmann::json("2")}) {
    auto json = to_json(sample());
    json["version"] = bad;
    EXPECT_FALSE(checkpoint_from_json(json).has_value()) << bad.dump();
    json = to_json(sample());
    json["generation"] = bad;
    if (!bad.is_number_unsigned()) {
      EXPECT_FALSE(checkpoint_from_json(json).has_value()) << "generation " << bad.dump();
    }
  }
  auto json = to_json(sample());
  json["target_marks"] = nlohmann::json::array(
      {{{"key_base64", "YQ=="}, {"slot", 70000}, {"node", "n"}, {"run_id", "r"}}});
  auto result = checkpoint_from_json(json);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error(), ::testing::HasSubstr("slot"));
}

TEST(checkpoint, only_whole_unsigned_cursors_and_counts_are_read) {
  // std::stoull and nlohmann's get<uint64_t> used to take "-1" for 2^64 - 1, "12abc" for 12 and
  // -1 or 2.5 for counts: a damaged state file resumed from a cursor never committed.
  for (const char* cursor : {"-1", "12abc", " 12", "", "+5", "18446744073709551616"}) {
    auto json = to_json(sample());
    json["shards"][0]["cursor"] = cursor;
    auto result = checkpoint_from_json(json);
    ASSERT_FALSE(result.has_value()) << "cursor \"" << cursor << "\" was accepted";
    EXPECT_THAT(result.error(), ::testing::HasSubstr("cursor"));
  }
  for (const nlohmann::json& bad : {nlohmann::json(-1), nlohmann::json(2.5), nlohmann::json("3")}) {
    auto json = to_json(sample());
    json["shards"][0]["counts"]["copied"] = bad;
    auto result = checkpoint_from_json(json);
    ASSERT_FALSE(result.has_value()) << "count " << bad.dump() << " was accepted";
    EXPECT_THAT(result.error(), ::testing::HasSubstr("copied"));
  }
  auto json = to_json(sample());
  json["shards"][0]["cursor"] = "0018446744073709551615";
  auto leading_zeros = checkpoint_from_json(json);
  ASSERT_TRUE(leading_zeros.has_value()) << leading_zeros.error();
  EXPECT_EQ(leading_zeros->shards[0].position.cursor, 18446744073709551615ull);
}

TEST(checkpoint, differences_name_each_field) {
  job_identity a = sample().job, b = a;
  EXPECT_EQ(describe_differences(a, b), "");
  b.match = "other:*";
  b.target = "redis://elsewhere:6379";
  const std::string text = describe_differences(a, b);
  EXPECT_THAT(text, ::testing::HasSubstr("--match: 'user:*' then, 'other:*' now"));
  EXPECT_THAT(text, ::testing::HasSubstr("target"));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("--type")));
}

}  // namespace
}  // namespace ferry::engine
