// command_buffer against exact encodings and against hiredis's redisFormatCommandArgv (an
// independent oracle for random binary arguments).

#include "protocol/wire/command.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::protocol {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

std::string hiredis_encoding(const std::vector<std::string>& argv) {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  char* out = nullptr;
  const int n =
      redisFormatCommandArgv(&out, static_cast<int>(argv.size()), ptrs.data(), lens.data());
  EXPECT_GT(n, 0);
  std::string s(out, static_cast<std::size_t>(n));
  redisFreeCommand(out);
  return s;
}

std::vector<std::string> random_argv(std::mt19937_64& rng) {
  std::vector<std::string> argv(1 + rng() % 8);
  for (std::string& a : argv) {
    const std::size_t n = rng() % 10 == 0 ? 1000 + rng() % 5000 : rng() % 300;
    a.resize(n);
    for (char& c : a) {
      // Mostly the bytes that break naive encoders.
      static constexpr char special[] = {'\0', '\r', '\n', '$', '*'};
      c = rng() % 4 == 0 ? special[rng() % 5] : static_cast<char>(rng() & 0xff);
    }
  }
  return argv;
}

std::string concat(const std::vector<std::string_view>& segments) {
  std::string s;
  for (std::string_view v : segments) s += v;
  return s;
}

TEST(command_buffer, encodes_exactly) {
  command_buffer buf;
  buf.push({"SET", "key", "value"});
  buf.push({"GET", ""});
  EXPECT_EQ(buf.flatten(),
            "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n");
  EXPECT_EQ(buf.commands(), 2u);
  EXPECT_EQ(buf.size_bytes(), buf.flatten().size());
  EXPECT_FALSE(buf.empty());
}

TEST(command_buffer, matches_hiredis_for_random_binary_argv) {
  std::mt19937_64 rng(20240601);
  command_buffer copied;
  command_buffer referenced(0);  // every argument by reference
  std::string pipeline;
  for (int i = 0; i < 500; ++i) {
    const auto argv = random_argv(rng);
    const std::string expected = hiredis_encoding(argv);
    pipeline += expected;

    command_buffer one;
    one.begin(argv.size());
    for (const std::string& a : argv) one.arg(a);
    ASSERT_EQ(one.flatten(), expected) << "command " << i;

    copied.begin(argv.size());
    referenced.begin(argv.size());
    for (const std::string& a : argv) {
      copied.arg(a);
      referenced.arg_ref(bytes::copy_of(a));
    }
  }
  EXPECT_EQ(copied.commands(), 500u);
  EXPECT_EQ(copied.flatten(), pipeline);
  EXPECT_EQ(concat(copied.segments()), pipeline);
  EXPECT_EQ(copied.segments().size(), 1u);
  EXPECT_EQ(referenced.flatten(), pipeline);
  EXPECT_EQ(concat(referenced.segments()), pipeline);
  EXPECT_EQ(referenced.size_bytes(), pipeline.size());
}

TEST(command_buffer, formats_integers_in_decimal) {
  const std::int64_t values[] = {0,
                                 1,
                                 -1,
                                 9,
                                 10,
                                 -10,
                                 1'700'000'000'123,
                                 std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::min()};
  for (std::int64_t v : values) {
    command_buffer buf;
    buf.begin(2);
    buf.arg("PEXPIREAT"sv);
    buf.arg(v);
    const std::string digits = std::to_string(v);
    EXPECT_EQ(buf.flatten(), hiredis_encoding({"PEXPIREAT", digits})) << v;
  }
  command_buffer min;
  min.begin(1);
  min.arg(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(min.flatten(), "*1\r\n$20\r\n-9223372036854775808\r\n");
}

TEST(command_buffer, arg_ref_points_at_the_original_bytes) {
  std::mt19937_64 rng(5);
  std::string payload(4096, '\0');
  for (char& c : payload) c = static_cast<char>(rng() & 0xff);
  const bytes value = bytes::copy_of(payload);

  command_buffer buf;
  buf.begin(6);
  buf.arg("RESTORE"sv);
  buf.arg("key:1"sv);
  buf.arg(std::int64_t{1'700'000'000'000});
  buf.arg_ref(value);
  buf.arg("ABSTTL"sv);
  buf.arg("REPLACE"sv);

  const auto& segments = buf.segments();
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[1].data(), value.data()) << "the payload was copied";
  EXPECT_EQ(segments[1].size(), value.size());
  EXPECT_EQ(buf.references(), 1u);

  const std::string expected =
      hiredis_encoding({"RESTORE", "key:1", "1700000000000", payload, "ABSTTL", "REPLACE"});
  EXPECT_EQ(concat(segments), expected);
  EXPECT_EQ(buf.flatten(), expected);
  EXPECT_EQ(buf.size_bytes(), expected.size());
  EXPECT_EQ(segments[0], "*6\r\n$7\r\nRESTORE\r\n$5\r\nkey:1\r\n$13\r\n1700000000000\r\n$4096\r\n");
  EXPECT_EQ(segments[2], "\r\n$6\r\nABSTTL\r\n$7\r\nREPLACE\r\n");
}

TEST(command_buffer, copies_short_references_by_default) {
  const bytes small = bytes::copy_of(std::string(command_buffer::default_copy_below - 1, 'x'));
  const bytes large = bytes::copy_of(std::string(command_buffer::default_copy_below, 'y'));
  command_buffer buf;
  buf.begin(3);
  buf.arg("SET"sv);
  buf.arg_ref(small);
  buf.arg_ref(large);
  EXPECT_EQ(buf.references(), 1u);
  const auto& segments = buf.segments();
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_NE(segments[0].find(small.view()), std::string_view::npos);
  EXPECT_EQ(segments[1].data(), large.data());
  EXPECT_EQ(buf.flatten(), hiredis_encoding({"SET", small.str(), large.str()}));
}

TEST(command_buffer, adjacent_text_is_one_segment_and_no_segment_is_empty) {
  std::vector<bytes> payloads;
  for (int i = 0; i < 3; ++i) payloads.push_back(bytes::copy_of(std::string(10 + i, 'a' + i)));
  payloads.push_back(bytes{});  // an empty reference is written inline
  command_buffer buf(1);
  for (const bytes& p : payloads) {
    buf.begin(2);
    buf.arg("ECHO"sv);
    buf.arg_ref(p);
  }
  const auto& segments = buf.segments();
  ASSERT_EQ(segments.size(), 7u);  // text, ref, text, ref, text, ref, text
  for (std::size_t i = 0; i < segments.size(); ++i) {
    EXPECT_FALSE(segments[i].empty()) << i;
    if (i % 2 == 1) {
      EXPECT_EQ(segments[i].data(), payloads[i / 2].data()) << i;
    }
  }
  EXPECT_EQ(segments[6], "\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
}

TEST(command_buffer, a_reference_keeps_its_payload_alive) {
  command_buffer buf(0);
  {
    const bytes temporary = bytes::copy_of("payload that outlives its bytes object");
    buf.begin(2);
    buf.arg("ECHO"sv);
    buf.arg_ref(temporary);
  }  // the only other owner is gone
  EXPECT_EQ(concat(buf.segments()),
            hiredis_encoding({"ECHO", "payload that outlives its bytes object"}));
}

TEST(command_buffer, segments_follow_later_changes) {
  command_buffer buf(0);
  buf.push({"PING"});
  EXPECT_EQ(concat(buf.segments()), "*1\r\n$4\r\nPING\r\n");
  const bytes value = bytes::copy_of("v");
  buf.begin(2);
  buf.arg("ECHO"sv);
  buf.arg_ref(value);
  EXPECT_EQ(buf.segments().size(), 3u);
  EXPECT_EQ(concat(buf.segments()), "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nv\r\n");
}

TEST(command_buffer, clear_forgets_everything_but_keeps_capacity) {
  const bytes payload = bytes::copy_of(std::string(2000, 'p'));
  command_buffer buf;
  auto fill = [&] {
    for (int i = 0; i < 1000; ++i) {
      buf.begin(3);
      buf.arg("SET"sv);
      buf.arg(std::int64_t{i});
      buf.arg_ref(payload);
    }
  };
  fill();
  const std::string first = buf.flatten();
  const char* text = buf.segments().front().data();

  buf.clear();
  EXPECT_TRUE(buf.empty());
  EXPECT_EQ(buf.commands(), 0u);
  EXPECT_EQ(buf.size_bytes(), 0u);
  EXPECT_EQ(buf.references(), 0u);
  EXPECT_TRUE(buf.segments().empty());
  EXPECT_EQ(payload.owner().use_count(), 1) << "clear() released the references";

  fill();
  EXPECT_EQ(buf.segments().front().data(), text) << "the text buffer was reallocated";
  EXPECT_EQ(buf.flatten(), first);
}

TEST(command_buffer, copies_and_moves_have_their_own_segments) {
  const bytes value = bytes::copy_of("referenced");
  command_buffer original(0);
  original.push({"PING"});  // short enough for std::string's in-place storage
  ASSERT_EQ(original.segments().size(), 1u);

  command_buffer copy(original);
  original.clear();
  original.push({"QUIT"});
  EXPECT_EQ(concat(copy.segments()), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(concat(original.segments()), "*1\r\n$4\r\nQUIT\r\n");

  copy.begin(2);
  copy.arg("ECHO"sv);
  copy.arg_ref(value);
  ASSERT_EQ(copy.segments().size(), 3u);
  command_buffer moved(std::move(copy));
  EXPECT_EQ(concat(moved.segments()),
            "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$10\r\nreferenced\r\n");
  EXPECT_EQ(moved.segments()[1].data(), value.data());
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): documented as left empty
  EXPECT_EQ(copy.size_bytes(), 0u);

  original = moved;
  moved.clear();
  EXPECT_EQ(original.flatten(), "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$10\r\nreferenced\r\n");
  EXPECT_EQ(original.references(), 1u);
}

}  // namespace
}  // namespace ferry::protocol
