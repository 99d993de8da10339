// The RESP reader against hand-written streams and against random streams whose generator
// records what each reply must parse to, fed whole, byte by byte and in random pieces.

#include "protocol/wire/resp_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire/errors.hpp"
#include "tests/unit/resp_streams.hpp"

namespace ferry::protocol {

// Readable failure output for replies.
void PrintTo(const reply& r, std::ostream* os) {
  static constexpr const char* prefix[] = {"$", "+", "-", ":", "nil", "[", "skipped:"};
  *os << prefix[static_cast<int>(r.kind)];
  if (r.kind == reply_kind::integer) *os << r.integer;
  if (!r.str.empty()) *os << testing::PrintToString(r.str.str());
  for (const reply& e : r.elements) {
    PrintTo(e, os);
    *os << " ";
  }
  if (r.kind == reply_kind::array) *os << "]";
}

namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;
using testing::HasSubstr;
using namespace resp_streams;

reply text_reply(reply_kind kind, std::string_view text) {
  reply r;
  r.kind = kind;
  r.str = bytes::copy_of(text);
  return r;
}

// Appends one random reply of any kind (arrays nested up to `depth` more levels) to `out` and
// returns what it must parse to.
reply random_reply(std::mt19937_64& rng, std::string& out, int depth) {
  switch (rng() % (depth > 0 ? 7 : 6)) {
    case 0: {
      const std::string text = std::string("OK").append(std::to_string(rng() % 100));
      out += line('+', text);
      return text_reply(reply_kind::status, text);
    }
    case 1: {
      const std::string text = std::string("ERR no ").append(std::to_string(rng() % 100));
      out += line('-', text);
      return text_reply(reply_kind::error, text);
    }
    case 2: {
      const auto value = static_cast<std::int64_t>(rng());
      out += line(':', std::to_string(value));
      reply r;
      r.kind = reply_kind::integer;
      r.integer = value;
      return r;
    }
    case 3:
      out += rng() % 2 ? "$-1\r\n" : "*-1\r\n";
      return {};
    case 4: {
      const std::string payload = random_payload(rng, rng() % 4 ? rng() % 200 : rng() % 40000);
      out += bulk(payload);
      return text_reply(reply_kind::string, payload);
    }
    default: {
      reply array;
      array.kind = reply_kind::array;
      const std::size_t n = depth > 0 ? rng() % 6 : 0;
      out += line('*', std::to_string(n));
      for (std::size_t i = 0; i < n; ++i)
        array.elements.push_back(random_reply(rng, out, depth - 1));
      return array;
    }
  }
}

// --- every kind of reply ---------------------------------------------------------------------

TEST(resp_reader, parses_every_reply_kind) {
  const auto replies = parse(
      "+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n*0\r\n"
      ":9223372036854775807\r\n:-9223372036854775808\r\n",
      1 << 20);
  ASSERT_EQ(replies.size(), 11u);
  EXPECT_EQ(replies[0].kind, reply_kind::status);
  EXPECT_EQ(replies[0].text(), "OK");
  EXPECT_EQ(replies[1].kind, reply_kind::error);
  EXPECT_TRUE(replies[1].is_error());
  EXPECT_EQ(replies[1].text(), "ERR bad thing");
  EXPECT_EQ(replies[2].kind, reply_kind::integer);
  EXPECT_EQ(replies[2].integer, 42);
  EXPECT_EQ(replies[3].integer, -7);
  EXPECT_EQ(replies[4].kind, reply_kind::string);
  EXPECT_EQ(replies[4].str, "hello"sv);
  EXPECT_EQ(replies[5].kind, reply_kind::string);
  EXPECT_TRUE(replies[5].str.empty());
  EXPECT_TRUE(replies[6].is_nil());
  EXPECT_TRUE(replies[7].is_nil());
  EXPECT_EQ(replies[8].kind, reply_kind::array);
  EXPECT_TRUE(replies[8].elements.empty());
  EXPECT_EQ(replies[9].integer, INT64_MAX);
  EXPECT_EQ(replies[10].integer, INT64_MIN);
}

TEST(resp_reader, parses_nested_arrays) {
  const auto replies =
      parse("*4\r\n*2\r\n:1\r\n$1\r\na\r\n*0\r\n*1\r\n*2\r\n+deep\r\n$-1\r\n*-1\r\n", 1 << 20);
  ASSERT_EQ(replies.size(), 1u);
  const reply& top = replies[0];
  ASSERT_EQ(top.kind, reply_kind::array);
  ASSERT_EQ(top.elements.size(), 4u);
  ASSERT_EQ(top.elements[0].elements.size(), 2u);
  EXPECT_EQ(top.elements[0].elements[0].integer, 1);
  EXPECT_EQ(top.elements[0].elements[1].str, "a"sv);
  EXPECT_EQ(top.elements[1].kind, reply_kind::array);
  EXPECT_TRUE(top.elements[1].elements.empty());
  const reply& inner = top.elements[2].elements.at(0);
  ASSERT_EQ(inner.elements.size(), 2u);
  EXPECT_EQ(inner.elements[0].kind, reply_kind::status);
  EXPECT_EQ(inner.elements[0].text(), "deep");
  EXPECT_TRUE(inner.elements[1].is_nil());
  EXPECT_TRUE(top.elements[3].is_nil());
}

TEST(resp_reader, eight_levels_of_nesting_parse_and_nine_fail_clearly) {
  std::string eight;
  for (int i = 0; i < 8; ++i) eight += "*1\r\n";
  eight += ":5\r\n";
  const auto replies = parse(eight, 1 << 20);
  ASSERT_EQ(replies.size(), 1u);
  const reply* r = &replies[0];
  for (int i = 0; i < 8; ++i) r = &r->elements.at(0);
  EXPECT_EQ(r->integer, 5);

  resp_reader reader;
  reader.feed(std::string("*1\r\n").append(eight));
  auto result = reader.next();
  ASSERT_TRUE(result.has_error());
  EXPECT_EQ(result.error(), make_error_code(errc::protocol_violation));
  EXPECT_THAT(reader.error_message(), HasSubstr("nested more than 8 levels"));
}

TEST(resp_reader, keeps_binary_payloads_intact) {
  std::string payload;
  for (int i = 0; i < 256; ++i) payload += static_cast<char>(i);
  payload += "\r\n$3\r\nabc\r\n\0\0\r\n"s;
  const auto replies = parse(bulk(payload) + bulk("\r\n") + bulk("\0"s), 1 << 20);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].str.size(), payload.size());
  EXPECT_EQ(replies[0].str, payload);
  EXPECT_EQ(replies[1].str, "\r\n"sv);
  EXPECT_EQ(replies[2].str, "\0"sv);
}

// --- pipelines and splits --------------------------------------------------------------------

TEST(resp_reader, parses_a_pipeline_of_1000_replies_fed_at_once) {
  std::mt19937_64 rng(7);
  std::string stream;
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) {
    if (i % 2 == 0) {
      payloads.push_back(random_payload(rng, 50 + rng() % 150));
      stream += bulk(payloads.back());
    } else {
      stream += line(':', std::to_string(1'700'000'000'000 + i));
    }
  }
  resp_reader reader;
  reader.feed(stream);
  EXPECT_EQ(reader.buffered(), stream.size());
  for (int i = 0; i < 1000; ++i) {
    auto r = reader.next();
    ASSERT_TRUE(r.has_value()) << reader.error_message();
    ASSERT_TRUE(r->has_value()) << "reply " << i;
    if (i % 2 == 0) {
      ASSERT_EQ((*r)->kind, reply_kind::string);
      EXPECT_EQ((*r)->str, payloads[static_cast<std::size_t>(i / 2)]);
    } else {
      ASSERT_EQ((*r)->kind, reply_kind::integer);
      EXPECT_EQ((*r)->integer, 1'700'000'000'000 + i);
    }
  }
  auto end = reader.next();
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->has_value());
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(resp_reader, byte_by_byte_and_random_splits_give_the_generated_replies) {
  std::mt19937_64 rng(42);
  std::string stream;
  std::vector<reply> expected;
  for (int i = 0; i < 400; ++i) expected.push_back(random_reply(rng, stream, 4));
  EXPECT_EQ(parse(stream, stream.size()), expected);
  EXPECT_EQ(parse(stream, 1), expected);
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    EXPECT_EQ(parse(stream, 7, seed), expected) << "pieces up to 7, seed " << seed;
    EXPECT_EQ(parse(stream, 5000, seed), expected) << "pieces up to 5000, seed " << seed;
    EXPECT_EQ(parse(stream, 100'000, seed), expected) << "pieces up to 100000, seed " << seed;
  }
}

TEST(resp_reader, parses_a_large_bulk_fed_in_pieces) {
  std::mt19937_64 rng(11);
  const std::string payload = random_payload(rng, 5 * 1024 * 1024);
  const std::string stream = bulk(payload) + ":1\r\n";
  resp_reader reader;
  std::size_t fed = 0;
  std::optional<reply> big;
  while (fed < stream.size() && !big) {
    const std::size_t n = std::min<std::size_t>(64 * 1024, stream.size() - fed);
    reader.feed(std::string_view(stream).substr(fed, n));
    fed += n;
    auto r = reader.next();
    ASSERT_TRUE(r.has_value()) << reader.error_message();
    if (r->has_value()) {
      big = std::move(**r);
    } else {
      EXPECT_EQ(reader.buffered(), fed);
    }
  }
  ASSERT_TRUE(big);
  EXPECT_EQ(fed, stream.size()) << "the bulk string was returned before all of it arrived";
  EXPECT_EQ(big->str.size(), payload.size());
  EXPECT_TRUE(big->str == payload);
  auto one = reader.next();
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->integer, 1);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(resp_reader, buffered_counts_bytes_not_yet_returned) {
  resp_reader reader;
  EXPECT_EQ(reader.buffered(), 0u);
  reader.feed("+OK\r\n:1");
  EXPECT_EQ(reader.buffered(), 7u);
  auto ok = reader.next();
  ASSERT_TRUE(ok.has_value() && ok->has_value());
  EXPECT_EQ(reader.buffered(), 2u);
  auto none = reader.next();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  reader.feed("\r\n*2\r\n:1\r\n");  // a reply and a half
  auto one = reader.next();
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->integer, 1);
  ASSERT_FALSE(reader.next()->has_value());
  EXPECT_EQ(reader.buffered(), 8u) << "a partly parsed array counts in full";
  reader.feed(":2\r\n");
  auto array = reader.next();
  ASSERT_TRUE(array.has_value() && array->has_value());
  EXPECT_EQ((*array)->elements.size(), 2u);
  EXPECT_EQ(reader.buffered(), 0u);
}

TEST(resp_reader, moves_in_the_middle_of_a_reply) {
  resp_reader first;
  first.feed("*2\r\n$3\r\nab");
  ASSERT_FALSE(first.next()->has_value());
  resp_reader second(std::move(first));
  second.feed("c\r\n:9\r\n");
  auto r = second.next();
  ASSERT_TRUE(r.has_value() && r->has_value());
  ASSERT_EQ((*r)->elements.size(), 2u);
  EXPECT_EQ((*r)->elements[0].str, "abc"sv);
  EXPECT_EQ((*r)->elements[1].integer, 9);
  EXPECT_TRUE(first.next().has_error());  // NOLINT(bugprone-use-after-move): defined as failing
}

// --- limits ----------------------------------------------------------------------------------

// The error `next()` reports for `stream`, fed at once.
boost::system::error_code error_for(std::string_view stream, reader_limits limits = {},
                                    std::string* message = nullptr) {
  resp_reader reader(limits);
  reader.feed(stream);
  for (;;) {
    auto r = reader.next();
    if (r.has_error()) {
      if (message) *message = reader.error_message();
      return r.error();
    }
    if (!r->has_value()) return {};
  }
}

TEST(resp_reader, rejects_an_oversize_bulk_when_its_header_arrives) {
  const reader_limits limits{.max_bulk_bytes = 1000, .max_array_elements = 100};
  std::string message;
  // Only the header: nothing of the payload has been sent.
  EXPECT_EQ(error_for("$1001\r\n", limits, &message), make_error_code(errc::reply_too_large));
  EXPECT_THAT(message, HasSubstr("bulk string of 1001 bytes"));
  EXPECT_THAT(message, HasSubstr("limit of 1000 bytes"));
  // Inside an array, after other elements.
  EXPECT_EQ(error_for("*3\r\n:1\r\n$2\r\nok\r\n$5000\r\n", limits),
            make_error_code(errc::reply_too_large));
  // Even the whole bulk arriving at once is refused.
  EXPECT_EQ(error_for(bulk(std::string(1001, 'x')), limits),
            make_error_code(errc::reply_too_large));
  // Exactly at the limit is fine.
  EXPECT_EQ(error_for("$1000\r\n", limits), boost::system::error_code{});
  EXPECT_EQ(parse(bulk(std::string(1000, 'x')), 300, 1, limits).size(), 1u);
}

TEST(resp_reader, judges_a_bulk_header_while_its_digits_arrive) {
  resp_reader reader({.max_bulk_bytes = 1000, .max_array_elements = 100});
  reader.feed("$10");
  ASSERT_FALSE(reader.next()->has_value());
  reader.feed("00");  // "$1000": could still be within the limit
  ASSERT_FALSE(reader.next()->has_value());
  reader.feed("0");  // "$10000" without CRLF yet: over, whatever follows
  auto r = reader.next();
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::reply_too_large));
  EXPECT_THAT(reader.error_message(), HasSubstr("at least 10000 bytes"));
}

TEST(resp_reader, rejects_an_oversize_array_header) {
  const reader_limits limits{.max_bulk_bytes = 1000, .max_array_elements = 10};
  std::string message;
  EXPECT_EQ(error_for("*11\r\n", limits, &message), make_error_code(errc::reply_too_large));
  EXPECT_THAT(message, HasSubstr("array of 11 elements"));
  EXPECT_THAT(message, HasSubstr("limit of 10"));
  EXPECT_EQ(error_for("*2\r\n*11\r\n", limits), make_error_code(errc::reply_too_large));
  EXPECT_EQ(error_for("*10\r\n", limits), boost::system::error_code{});
  // Beyond what hiredis itself can count.
  EXPECT_EQ(error_for("*4294967297\r\n:1\r\n"), make_error_code(errc::protocol_violation));
}

TEST(resp_reader, cuts_off_lines_that_never_end) {
  EXPECT_EQ(error_for(std::string(":").append(40, '1')), make_error_code(errc::protocol_violation));
  EXPECT_EQ(error_for(std::string("*").append(40, '1')), make_error_code(errc::protocol_violation));
  EXPECT_EQ(error_for(std::string("$-").append(40, '1')),
            make_error_code(errc::protocol_violation));
  EXPECT_EQ(error_for(std::string("$1").append(40, ' ')),
            make_error_code(errc::protocol_violation));
  const reader_limits limits{.max_bulk_bytes = 100, .max_array_elements = 10};
  EXPECT_EQ(error_for(std::string("+").append(101, 'a'), limits),
            make_error_code(errc::reply_too_large));
  EXPECT_EQ(error_for(std::string("-").append(100, 'a'), limits), boost::system::error_code{});
}

TEST(resp_reader, a_line_of_exactly_the_limit_passes_whatever_the_split) {
  // Found by tests/fuzz/resp_reader_fuzz: with "+a\r" in one piece and "\n" in the next, the
  // CR was counted as part of a status line of max_bulk_bytes = 1 and the reply was refused,
  // while the same bytes fed whole parsed.
  const reader_limits limits{.max_bulk_bytes = 1, .max_array_elements = 10};
  for (const std::string_view first : {"+a\r", "-a\r", "+a"}) {
    resp_reader reader(limits);
    reader.feed(first);
    auto none = reader.next();
    ASSERT_TRUE(none.has_value()) << reader.error_message();
    EXPECT_FALSE(none->has_value());
    reader.feed(first.back() == '\r' ? "\n" : "\r\n");
    auto r = reader.next();
    ASSERT_TRUE(r.has_value()) << reader.error_message();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->text(), "a");
  }
  // A longer line is still cut off before its end arrives.
  EXPECT_EQ(error_for(std::string("+ab\r"), limits), make_error_code(errc::reply_too_large));
  // The same for the 32-byte bound on number lines: 32 digits and a CR wait for the LF.
  resp_reader reader;
  reader.feed(std::string(":").append(32, '1').append("\r"));
  auto waiting = reader.next();
  ASSERT_TRUE(waiting.has_value()) << reader.error_message();
  EXPECT_FALSE(waiting->has_value());
}

// --- malformed input -------------------------------------------------------------------------

struct malformed_case {
  std::string_view input;
  std::string_view says;  // part of the message, mostly hiredis's own words
};

void PrintTo(const malformed_case& c, std::ostream* os) { *os << testing::PrintToString(c.input); }

class resp_reader_malformed : public testing::TestWithParam<malformed_case> {};

TEST_P(resp_reader_malformed, fails_with_protocol_violation_and_stays_failed) {
  resp_reader reader;
  reader.feed(GetParam().input);
  auto r = reader.next();
  while (r.has_value() && r->has_value()) r = reader.next();  // replies before the bad one
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::protocol_violation));
  EXPECT_TRUE(reader.failed());
  EXPECT_THAT(reader.error_message(), HasSubstr(GetParam().says));
  reader.feed("+OK\r\n");
  auto again = reader.next();
  ASSERT_TRUE(again.has_error());
  EXPECT_EQ(again.error(), make_error_code(errc::protocol_violation));
}

INSTANTIATE_TEST_SUITE_P(
    inputs, resp_reader_malformed,
    testing::Values(malformed_case{"?x\r\n", "reply type byte"},
                    malformed_case{"+OK\r\n!\r\n", "reply type byte"},
                    malformed_case{":12x\r\n", "Bad integer value"},
                    malformed_case{":\r\n", "Bad integer value"},
                    malformed_case{":99999999999999999999\r\n", "Bad integer value"},
                    malformed_case{"$abc\r\n", "Bad bulk string length"},
                    malformed_case{"$-5\r\n", "out of range"},
                    malformed_case{"*1x\r\n", "Bad multi-bulk length"},
                    malformed_case{"*-5\r\n", "out of range"},
                    malformed_case{"$3\r\nabcXY", "not followed by CRLF"},
                    malformed_case{"*2\r\n$1\r\nab\r\n", "not followed by CRLF"}));

}  // namespace
}  // namespace ferry::protocol
