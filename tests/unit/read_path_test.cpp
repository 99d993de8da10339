// The reader's choice between GET first and DUMP first, batch by batch.

#include "engine/copy/read_path.hpp"

#include <gtest/gtest.h>

namespace ferry::engine {
namespace {

TEST(read_path_chooser, starts_with_get_and_stays_there_for_strings) {
  read_path_chooser chooser(true);
  EXPECT_EQ(chooser.next(), read_path::get_first);
  for (int i = 0; i < 100; ++i) chooser.observe(500, 0);
  EXPECT_EQ(chooser.next(), read_path::get_first);
  EXPECT_DOUBLE_EQ(chooser.share(), 1.0);
}

TEST(read_path_chooser, a_dataset_of_hashes_turns_to_dump_within_a_few_batches) {
  read_path_chooser chooser(true);
  int batches = 0;
  while (chooser.next() == read_path::get_first && batches < 100) {
    chooser.observe(0, 500);
    ++batches;
  }
  EXPECT_EQ(chooser.next(), read_path::dump_first);
  // 1 * 0.75^n < 0.6 after two batches: few keys pay the refused GET.
  EXPECT_EQ(batches, 2);
}

TEST(read_path_chooser, comes_back_to_get_when_strings_return) {
  read_path_chooser chooser(true);
  for (int i = 0; i < 20; ++i) chooser.observe(0, 100);
  ASSERT_EQ(chooser.next(), read_path::dump_first);
  // DUMP's payloads keep telling the types, so the share is measured on that path too.
  int batches = 0;
  while (chooser.next() == read_path::dump_first && batches < 100) {
    chooser.observe(100, 0);
    ++batches;
  }
  EXPECT_EQ(chooser.next(), read_path::get_first);
  EXPECT_LE(batches, 4);  // 1 - 0.75^4 >= 0.6
}

TEST(read_path_chooser, a_mix_above_the_threshold_keeps_get) {
  read_path_chooser chooser(true);
  for (int i = 0; i < 50; ++i) chooser.observe(70, 30);  // 70 % strings
  EXPECT_NEAR(chooser.share(), 0.7, 1e-3);
  EXPECT_EQ(chooser.next(), read_path::get_first);
  for (int i = 0; i < 50; ++i) chooser.observe(40, 60);  // 40 % strings
  EXPECT_EQ(chooser.next(), read_path::dump_first);
}

TEST(read_path_chooser, empty_batches_change_nothing_and_disallowed_is_always_dump) {
  read_path_chooser chooser(true);
  chooser.observe(0, 0);
  EXPECT_DOUBLE_EQ(chooser.share(), 1.0);
  read_path_chooser off(false);
  off.observe(1000, 0);
  EXPECT_EQ(off.next(), read_path::dump_first);
}

}  // namespace
}  // namespace ferry::engine
