// Key names in messages and JSON files: printable and exact.

#include "engine/runtime/key_text.hpp"

#include <gtest/gtest.h>

#include <random>

namespace ferry::engine {
namespace {

using namespace std::string_literals;

TEST(key_text, printable_escapes_what_is_not_plain_ascii) {
  EXPECT_EQ(printable_key("user:1"), "user:1");
  EXPECT_EQ(printable_key("a\0b"s), "a\\x00b");
  EXPECT_EQ(printable_key("line\r\n"), "line\\x0d\\x0a");
  EXPECT_EQ(printable_key("q\"b\\"), "q\\\"b\\\\");
  EXPECT_EQ(printable_key("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(printable_key(""), "");
}

TEST(key_text, base64_known_answers) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64("\0\xff"s), "AP8=");
}

TEST(key_text, base64_round_trips_random_bytes) {
  std::mt19937 random(3);
  for (int size = 0; size < 70; ++size) {
    std::string data(static_cast<std::size_t>(size), '\0');
    for (char& c : data) c = static_cast<char>(random());
    std::string back;
    ASSERT_TRUE(decode_base64(base64(data), back));
    EXPECT_EQ(back, data) << "size " << size;
  }
}

TEST(key_text, malformed_base64_is_refused) {
  std::string out;
  EXPECT_FALSE(decode_base64("abc", out));
  EXPECT_FALSE(decode_base64("a*==", out));
}

}  // namespace
}  // namespace ferry::engine
