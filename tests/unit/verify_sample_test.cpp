// The --verify-sample selection: deterministic, close to the asked fraction, and all or nothing
// at the ends.

#include "engine/verify/verify_sample.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ferry::engine {
namespace {

/// `prefix` followed by `n` (built by appending: GCC 12 warns falsely on "literal" + string).
std::string numbered(std::string prefix, int n) {
  prefix += std::to_string(n);
  return prefix;
}

TEST(verify_sample, the_same_key_is_always_chosen_the_same_way) {
  static_assert(sample_hash("user:1") == sample_hash("user:1"));
  // Fixed values: a change of the hash would make a re-run check other keys than before.
  EXPECT_EQ(sample_hash("user:1"), 0x3290bc1a92ad86c2ULL);
  EXPECT_EQ(sample_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_NE(sample_hash("user:1"), sample_hash("user:2"));
  for (int i = 0; i < 1000; ++i) {
    const std::string key = numbered("key:", i);
    EXPECT_EQ(in_sample(key, 0.3), in_sample(std::string(key), 0.3));
  }
}

TEST(verify_sample, takes_close_to_the_asked_fraction) {
  for (double fraction : {0.01, 0.1, 0.5, 0.9}) {
    int chosen = 0;
    constexpr int keys = 100'000;
    for (int i = 0; i < keys; ++i) {
      if (in_sample(numbered("str:", i), fraction)) ++chosen;
    }
    EXPECT_NEAR(static_cast<double>(chosen) / keys, fraction, 0.01) << fraction;
  }
}

TEST(verify_sample, a_smaller_sample_is_part_of_a_larger_one) {
  // Raising --verify-sample adds keys to what an earlier run checked, never swaps them.
  for (int i = 0; i < 10'000; ++i) {
    const std::string key = numbered("k", i);
    if (in_sample(key, 0.1)) {
      EXPECT_TRUE(in_sample(key, 0.2)) << key;
    }
  }
}

TEST(verify_sample, one_takes_every_key_and_binary_keys_work) {
  EXPECT_TRUE(in_sample("", 1.0));
  EXPECT_TRUE(in_sample(std::string("\0\r\n", 3), 1.0));
  EXPECT_FALSE(in_sample("anything", 0.0));
}

}  // namespace
}  // namespace ferry::engine
