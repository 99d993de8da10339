#include "tests/support/exact_copy.hpp"

#include <gtest/gtest.h>

#include "tests/support/keyspace.hpp"

namespace ferry::testing {

void expect_exact_copy(key_router& source, key_router& target, bool digest) {
  const keyspace expected = dump_keyspace(source);
  const keyspace actual = dump_keyspace(target);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(diff_keyspaces(expected, actual), "");
  if (digest) {
    EXPECT_EQ(debug_digest(source), debug_digest(target));
  }
}

}  // namespace ferry::testing
