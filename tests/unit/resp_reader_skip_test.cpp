// The RESP reader's bulk keeping: bulk strings over a size, or past a byte budget, are read past
// without being stored and come back as `skipped` replies with their length and first bytes,
// wherever they sit (top level or inside an array) and however the stream is cut.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "protocol/wire/errors.hpp"
#include "protocol/wire/resp_reader.hpp"
#include "tests/unit/resp_streams.hpp"

namespace ferry::protocol {
namespace {

using namespace resp_streams;
using testing::HasSubstr;

// Feeds `stream` in pieces of 1..max_piece bytes to a reader keeping bulks by `keeping`.
std::vector<reply> parse_keeping(std::string_view stream, std::size_t max_piece,
                                 bulk_keeping keeping, reader_limits limits = {},
                                 std::size_t* kept = nullptr) {
  resp_reader reader(limits);
  reader.keep_bulks(keeping);
  std::mt19937_64 rng(7);
  std::vector<reply> out;
  while (!stream.empty()) {
    const std::size_t n = max_piece <= 1 ? 1 : std::min(stream.size(), 1 + rng() % max_piece);
    reader.feed(stream.substr(0, n));
    stream.remove_prefix(n);
    for (;;) {
      auto r = reader.next();
      EXPECT_TRUE(r.has_value()) << reader.error_message();
      if (!r.has_value() || !r->has_value()) break;
      out.push_back(std::move(**r));
    }
  }
  EXPECT_EQ(reader.buffered(), 0u);
  if (kept != nullptr) *kept = reader.kept_bytes();
  return out;
}

void expect_skipped(const reply& r, std::size_t length, std::string_view prefix) {
  EXPECT_EQ(r.kind, reply_kind::skipped);
  EXPECT_TRUE(r.is_skipped());
  EXPECT_EQ(r.integer, static_cast<std::int64_t>(length));
  EXPECT_EQ(r.text(), prefix);
}

class resp_reader_skip : public testing::TestWithParam<std::size_t> {};

TEST_P(resp_reader_skip, skips_bulks_over_the_size_and_keeps_the_rest_in_sync) {
  std::mt19937_64 rng(3);
  const std::string big = random_payload(rng, 300'000);
  const std::string small = random_payload(rng, 100);
  std::string stream = bulk(small) + bulk(big) + ":42\r\n";
  stream += "*3\r\n" + bulk(big) + bulk("x") + bulk(big.substr(0, 20'000));
  stream += "$-1\r\n" + bulk(std::string_view(big).substr(0, 10));
  std::size_t kept = 0;
  const auto replies = parse_keeping(stream, GetParam(), {.skip_over = 10'000}, {}, &kept);
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[0].text(), small);
  expect_skipped(replies[1], big.size(), std::string_view(big).substr(0, 16));
  EXPECT_EQ(replies[2].integer, 42);
  ASSERT_EQ(replies[3].elements.size(), 3u);
  expect_skipped(replies[3].elements[0], big.size(), std::string_view(big).substr(0, 16));
  EXPECT_EQ(replies[3].elements[1].text(), "x");
  expect_skipped(replies[3].elements[2], 20'000, std::string_view(big).substr(0, 16));
  EXPECT_TRUE(replies[4].is_nil());
  EXPECT_EQ(replies[5].text(), big.substr(0, 10));
  EXPECT_EQ(kept, small.size() + 1 + 10);
}

TEST_P(resp_reader_skip, skips_past_the_budget_but_always_keeps_the_first) {
  std::mt19937_64 rng(4);
  const std::string a = random_payload(rng, 30'000);
  const std::string b = random_payload(rng, 30'000);
  const std::string c = random_payload(rng, 5'000);
  const std::string stream = bulk(a) + bulk(b) + bulk(c);
  // The first bulk is kept although it alone passes the budget; the others would pass it more.
  auto replies = parse_keeping(stream, GetParam(), {.budget = 20'000});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].text(), a);
  expect_skipped(replies[1], b.size(), std::string_view(b).substr(0, 16));
  expect_skipped(replies[2], c.size(), std::string_view(c).substr(0, 16));
  // With room for two, the third is the one skipped.
  replies = parse_keeping(stream, GetParam(), {.budget = 62'000});
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1].text(), b);
  expect_skipped(replies[2], c.size(), std::string_view(c).substr(0, 16));
  // Strictly: the first is skipped too, and what fits after it is kept.
  replies = parse_keeping(stream, GetParam(), {.budget = 20'000, .keep_first = false});
  ASSERT_EQ(replies.size(), 3u);
  expect_skipped(replies[0], a.size(), std::string_view(a).substr(0, 16));
  expect_skipped(replies[1], b.size(), std::string_view(b).substr(0, 16));
  EXPECT_EQ(replies[2].text(), c);
}

TEST_P(resp_reader_skip, a_skipped_bulk_may_exceed_the_size_limit) {
  std::mt19937_64 rng(5);
  const std::string big = random_payload(rng, 100'000);
  const auto replies = parse_keeping(bulk(big) + "+OK\r\n", GetParam(), {.skip_over = 8'192},
                                     {.max_bulk_bytes = 50'000});
  ASSERT_EQ(replies.size(), 2u);
  expect_skipped(replies[0], big.size(), std::string_view(big).substr(0, 16));
  EXPECT_EQ(replies[1].text(), "OK");
}

INSTANTIATE_TEST_SUITE_P(pieces, resp_reader_skip, testing::Values(1, 7, 1000, 70'000, 1 << 30));

TEST(resp_reader_skip_once, keep_bulks_resets_the_count_and_the_size_limit_still_applies_else) {
  resp_reader reader;
  reader.keep_bulks({.budget = 100});
  reader.feed(bulk(std::string(5000, 'a')));
  auto first = reader.next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_EQ((*first)->text().size(), 5000u);
  EXPECT_EQ(reader.kept_bytes(), 5000u);
  reader.keep_bulks({.budget = 100});
  EXPECT_EQ(reader.kept_bytes(), 0u);
  reader.feed(bulk(std::string(6000, 'b')));
  auto second = reader.next();
  ASSERT_TRUE(second.has_value() && second->has_value());
  EXPECT_EQ((*second)->kind, reply_kind::string);  // the first since the reset: kept

  resp_reader limited({.max_bulk_bytes = 1000});
  limited.keep_bulks({.skip_over = 2000});
  limited.feed("$1500\r\n");
  EXPECT_EQ(limited.next().error(), make_error_code(errc::reply_too_large));
}

TEST(resp_reader_skip_once, a_skipped_bulk_without_its_crlf_is_a_protocol_violation) {
  resp_reader reader;
  reader.keep_bulks({.skip_over = 8'192});
  std::string stream = "$10000\r\n" + std::string(10'000, 'z') + "XY+OK\r\n";
  reader.feed(stream);
  auto r = reader.next();
  ASSERT_TRUE(r.has_error());
  EXPECT_EQ(r.error(), make_error_code(errc::protocol_violation));
  EXPECT_THAT(reader.error_message(), HasSubstr("not followed by CRLF"));
}

}  // namespace
}  // namespace ferry::protocol
