// Glob matching as Redis's SCAN MATCH does it (engine/sync/key_match.hpp), so that events are
// filtered by --match exactly as the snapshot's keys are.

#include <gtest/gtest.h>

#include "engine/sync/key_match.hpp"

namespace ferry::engine {
namespace {

TEST(glob_match, follows_redis_stringmatch) {
  struct row {
    const char* pattern;
    std::string key;
    bool match;
  };
  const row rows[] = {
      {"*", "", true},
      {"*", "anything", true},
      {"", "", true},
      {"", "a", false},
      {"user:*", "user:1", true},
      {"user:*", "user", false},
      {"user:?", "user:12", false},
      {"user:??", "user:12", true},
      {"*:session", "a:b:session", true},
      {"*:session", "a:b:sessions", false},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"h[ae]llo", "hello", true},
      {"h[ae]llo", "hillo", false},
      {"h[^e]llo", "hallo", true},
      {"h[^e]llo", "hello", false},
      {"h[a-c]llo", "hbllo", true},
      {"h[c-a]llo", "hbllo", true},  // Redis swaps a reversed range
      {"h[a-c]llo", "hdllo", false},
      {"h\\*llo", "h*llo", true},
      {"h\\*llo", "hello", false},
      {"[\\]]", "]", true},
      {"**a", "ba", true},
      {"a*", std::string("a\0b", 3), true},
      {"?", std::string("\xff", 1), true},
      {"*{tag}*", "x{tag}y", true},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(glob_match(r.pattern, r.key), r.match) << r.pattern << " vs " << r.key;
  }
}

TEST(glob_match, stays_linear_on_patterns_that_would_make_recursion_explode) {
  const std::string key(4000, 'a');
  EXPECT_FALSE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*b", key));
  EXPECT_TRUE(glob_match("*a*a*a*a*a*a*a*a*a*a*a*a*", key));
}

}  // namespace
}  // namespace ferry::engine
