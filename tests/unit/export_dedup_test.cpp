// The export's duplicate check: a key written before is found, every other key is new — also
// when two names share a hash (the name itself decides), when the table grows far past its
// first size, and for binary and empty names.

#include <gtest/gtest.h>

#include <string>

#include "engine/import/key_dedup.hpp"

namespace ferry::engine {
namespace {

/// Names kept in memory; counts the comparisons that reached a name.
class counting_names final : public name_store {
 public:
  std::uint64_t append(std::string_view name) override { return inner_.append(name); }
  bool equals(std::uint64_t at, std::string_view name) override {
    ++compared;
    return inner_.equals(at, name);
  }
  int compared = 0;

 private:
  memory_names inner_;
};

TEST(export_dedup, a_key_is_seen_once_and_found_again) {
  key_dedup seen(10, std::make_unique<memory_names>());
  EXPECT_FALSE(seen.seen_before("a"));
  EXPECT_FALSE(seen.seen_before("b"));
  EXPECT_TRUE(seen.seen_before("a"));
  EXPECT_FALSE(seen.seen_before(""));
  EXPECT_TRUE(seen.seen_before(""));
  EXPECT_FALSE(seen.seen_before(std::string("\0\r\n\xff", 4)));
  EXPECT_TRUE(seen.seen_before(std::string("\0\r\n\xff", 4)));
  EXPECT_FALSE(seen.seen_before(std::string("\0\r\n", 3)));  // a prefix is another key
  EXPECT_EQ(seen.size(), 5u);
}

TEST(export_dedup, the_table_grows_past_its_first_size_and_forgets_nothing) {
  auto names = std::make_unique<counting_names>();
  counting_names* counter = names.get();
  key_dedup seen(100, std::move(names));
  const std::size_t first = seen.memory();
  for (int i = 0; i < 50'000; ++i) ASSERT_FALSE(seen.seen_before("key:" + std::to_string(i)));
  EXPECT_GT(seen.memory(), first);
  EXPECT_LE(seen.memory(), 50'000u * 16 * 4);  // at most 64 bytes a key, counted loosely
  // New keys compare names only on a full 64-bit hash match: practically never.
  EXPECT_LT(counter->compared, 5);
  for (int i = 0; i < 50'000; i += 7) ASSERT_TRUE(seen.seen_before("key:" + std::to_string(i)));
  EXPECT_FALSE(seen.seen_before("key:50000"));
  EXPECT_EQ(seen.size(), 50'001u);
}

TEST(export_dedup, names_are_compared_exactly_when_hashes_match) {
  memory_names names;
  const auto a = names.append("alpha");
  const auto b = names.append(std::string(300, 'b'));
  EXPECT_TRUE(names.equals(a, "alpha"));
  EXPECT_FALSE(names.equals(a, "alphA"));
  EXPECT_FALSE(names.equals(a, "alph"));
  EXPECT_TRUE(names.equals(b, std::string(300, 'b')));
  EXPECT_FALSE(names.equals(b, std::string(301, 'b')));
}

}  // namespace
}  // namespace ferry::engine
