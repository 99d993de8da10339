// `ferry plan`'s size estimate against the truth: the target's used_memory after a real
// `ferry copy` of the same data must be within 10 % of what the plan said it would be.

#include <gtest/gtest.h>

#include <cmath>

#include "tests/integration/plan_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/redis_server.hpp"

namespace ferry::testing {
namespace {

long long used_memory(sync_client& client) {
  return std::stoll(info_field(client.checked({"INFO", "memory"}).str, "used_memory"));
}

void expect_sizing_holds(const std::string& label, redis_server& source) {
  temp_dir dir("plan-sizing");
  redis_server target;
  const plan_run plan = run_plan({"--source", source.url(), "--target", target.url()}, dir);
  ASSERT_NE(plan.result.exit_code, 2) << plan.result.output();
  const double estimate = plan.json["estimates"]["size"]["target_used_bytes"];

  const ferry_result copy = run_ferry(
      {"copy", "--source", source.url(), "--target", target.url(), "--progress", "never"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output();
  sync_client t = target.client();
  const double actual = static_cast<double>(used_memory(t));
  const double error = std::abs(estimate - actual) / actual;
  const double copy_estimate = plan.json["estimates"]["time"]["copy_seconds"];
  std::printf(
      "%s: plan estimated %.0f bytes on the target, used_memory after the copy is %.0f "
      "(%.1f %% apart); copy time estimated %.2f s, took %.2f s\n",
      label.c_str(), estimate, actual, error * 100, copy_estimate, copy.seconds);
  EXPECT_LT(error, 0.10) << label << ": estimate " << estimate << ", actual " << actual;
}

TEST(plan_sizing, every_type_and_encoding_within_10_percent_of_the_copy) {
  redis_server source;
  sync_client client = source.client();
  dataset_options data;
  data.count_per_kind = 400;
  data.big_per_kind = 10;
  data.with_expiry_fraction = 0.3;
  fill_every_type(client, data);
  expect_sizing_holds("every type", source);
}

// bench/lab/lab_fill.cpp's "mixed" profile, at 30,000 keys instead of 200,000: nine small kinds
// per round (a ninth of them small streams), a few big keys of each large kind, 30 % expiring.
TEST(plan_sizing, the_labs_mixed_profile_within_10_percent_of_the_copy) {
  redis_server source;
  sync_client client = source.client();
  const std::size_t total = 30'000;
  dataset_options data;
  data.big_per_kind = std::max<std::size_t>(1, total / 20'000);
  data.count_per_kind = std::max<std::size_t>(1, (total - 9 * data.big_per_kind) / 9);
  data.with_expiry_fraction = 0.3;
  fill_every_type(client, data);
  expect_sizing_holds("mixed profile, 30k keys", source);
}

TEST(plan_sizing, many_small_strings_within_10_percent_of_the_copy) {
  redis_server source;
  sync_client client = source.client();
  fill_strings(client, 200'000, 100);
  expect_sizing_holds("200k x 100 B", source);
}

}  // namespace
}  // namespace ferry::testing
