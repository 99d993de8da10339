// Which server-side digest verify uses for a pair of servers (digest_scripts.hpp).

#include <gtest/gtest.h>

#include "engine/verify/digest_scripts.hpp"

namespace ferry::engine {
namespace {

TEST(digest_plan, equal_versions_keep_the_dump_digest_and_others_get_the_canonical_one) {
  EXPECT_FALSE(plan_digest({7, 4}, {7, 4}).canonical);
  EXPECT_FALSE(plan_digest({6, 2}, {6, 2}).canonical);
  EXPECT_TRUE(plan_digest({6, 2}, {7, 4}).canonical);
  EXPECT_TRUE(plan_digest({7, 4}, {7, 0}).canonical);
  EXPECT_TRUE(plan_digest({7, 4}, {7, 2}).canonical);  // Valkey 8 says 7.2
  EXPECT_TRUE(plan_digest({7, 0}, {7, 2}).canonical);
  // A server that hides its version may be anything.
  EXPECT_TRUE(plan_digest({0, 0}, {0, 0}).canonical);
  EXPECT_TRUE(plan_digest({7, 0}, {0, 0}).canonical);
}

TEST(digest_plan, field_expiries_on_7_4_and_later_and_stream_metadata_when_both_are_7) {
  EXPECT_TRUE(holds_field_ttls({7, 4}));
  EXPECT_TRUE(holds_field_ttls({8, 0}));
  EXPECT_FALSE(holds_field_ttls({7, 2}));
  EXPECT_FALSE(holds_field_ttls({6, 2}));
  EXPECT_FALSE(holds_field_ttls({0, 0}));
  const digest_plan down = plan_digest({7, 4}, {7, 0});
  EXPECT_TRUE(down.source_field_ttls);
  EXPECT_FALSE(down.target_field_ttls);
  EXPECT_TRUE(down.stream_v7);
  const digest_plan up = plan_digest({6, 2}, {7, 4});
  EXPECT_FALSE(up.source_field_ttls);
  EXPECT_TRUE(up.target_field_ttls);
  EXPECT_FALSE(up.stream_v7);
}

TEST(digest_plan, both_scripts_share_the_size_estimate_and_answer_big_past_the_limit) {
  for (std::string_view script : {dump_digest_script, canonical_digest_script}) {
    EXPECT_NE(script.find("if n > tonumber(ARGV[1]) then return 'big' end"),
              std::string_view::npos);
    EXPECT_EQ(script.find("#!"), std::string_view::npos);  // Redis 5 and 6 run it
  }
  EXPECT_NE(canonical_digest_script.find("HPEXPIRETIME"), std::string_view::npos);
  EXPECT_EQ(dump_digest_script.find("HPEXPIRETIME"), std::string_view::npos);
}

}  // namespace
}  // namespace ferry::engine
