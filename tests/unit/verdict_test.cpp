// The verifier's pure rules: expiry tolerance, "the source moved", descriptions, digests, scores,
// and the diff file's lines.

#include "engine/verify/verdict.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace ferry::engine {
namespace {

TEST(verdict, expiries_differ_beyond_the_tolerance_or_when_only_one_side_has_one) {
  EXPECT_FALSE(expiry_differs(-1, -1, 1000));
  EXPECT_TRUE(expiry_differs(-1, 5000, 1000));
  EXPECT_TRUE(expiry_differs(5000, -1, 1000));
  EXPECT_FALSE(expiry_differs(5000, 6000, 1000));
  EXPECT_FALSE(expiry_differs(6000, 5000, 1000));
  EXPECT_TRUE(expiry_differs(5000, 6001, 1000));
  EXPECT_TRUE(expiry_differs(1'700'000'010'000, 1'700'000'000'000, 1000));
  EXPECT_FALSE(expiry_differs(7, 7, 0));
  EXPECT_TRUE(expiry_differs(7, 8, 0));
}

TEST(verdict, expiry_replies_become_absolute_times) {
  EXPECT_EQ(expiry_from_reply(-1, true, 1000), -1);
  EXPECT_EQ(expiry_from_reply(-2, true, 1000), -2);
  EXPECT_EQ(expiry_from_reply(-1, false, 1000), -1);
  EXPECT_EQ(expiry_from_reply(-2, false, 1000), -2);
  EXPECT_EQ(expiry_from_reply(1'700'000'000'000, true, 5), 1'700'000'000'000);
  EXPECT_EQ(expiry_from_reply(250, false, 1'700'000'000'000), 1'700'000'000'250);
}

TEST(verdict, a_side_moved_when_type_digest_length_or_expiry_changed) {
  key_state before{"hash", -1, "abc", -1};
  EXPECT_FALSE(state_moved(before, before, 0));
  key_state other = before;
  other.digest = "abd";
  EXPECT_TRUE(state_moved(before, other, 0));
  other = before;
  other.type = "none";
  EXPECT_TRUE(state_moved(before, other, 0));
  other = before;
  other.length = 3;
  EXPECT_TRUE(state_moved(before, other, 0));
  other = before;
  other.expire_at_ms = 10'000;
  EXPECT_TRUE(state_moved(before, other, 0));
  // PTTL-derived expiries jitter: within the slack they did not move.
  before.expire_at_ms = 10'000;
  other = before;
  other.expire_at_ms = 10'003;
  EXPECT_TRUE(state_moved(before, other, 0));
  EXPECT_FALSE(state_moved(before, other, 1000));
}

TEST(verdict, a_string_copied_by_value_is_judged_by_its_value_read_again) {
  const std::string copied = sha1_hex("v1");
  auto judged = [&](difference kind, const std::string& source_now, std::int64_t source_expiry) {
    verdict v;
    v.kind = kind;
    v.source = {"string", source_expiry, "dump-digest-of-the-source"};
    judge_against_copied_value(v, source_now, copied, 5000, 1000);
    return v.kind;
  };
  // The source still holds the value copied: the target is wrong.
  EXPECT_EQ(judged(difference::value, sha1_hex("v1"), 5000), difference::value);
  EXPECT_EQ(judged(difference::expiry, sha1_hex("v1"), 5200), difference::expiry);
  // Written since, or no longer a string (empty): no verdict on the copy.
  EXPECT_EQ(judged(difference::value, sha1_hex("v2"), 5000), difference::changed);
  EXPECT_EQ(judged(difference::type, "", 5000), difference::changed);
  EXPECT_EQ(judged(difference::expiry, sha1_hex("v1"), 90'000), difference::changed);
  // A missing key stays missing.
  EXPECT_EQ(judged(difference::missing, sha1_hex("v2"), 5000), difference::missing);
}

TEST(verdict, a_copied_key_whose_source_moved_since_is_changed_not_different) {
  key_state copied_state{"string", 5000, "aaaa"};
  auto judged = [&](difference kind, key_state source) {
    verdict v;
    v.kind = kind;
    v.source = std::move(source);
    v.target = copied_state;
    judge_against_copy(v, "aaaa", 5000, 1000);
    return v.kind;
  };
  // The source holds what was copied: the target is wrong.
  EXPECT_EQ(judged(difference::value, {"string", 5000, "aaaa"}), difference::value);
  EXPECT_EQ(judged(difference::expiry, {"string", 5500, "aaaa"}), difference::expiry);
  // The source was written after the copy: no verdict on the copy.
  EXPECT_EQ(judged(difference::value, {"string", 5000, "bbbb"}), difference::changed);
  EXPECT_EQ(judged(difference::type, {"hash", 5000, "cccc"}), difference::changed);
  EXPECT_EQ(judged(difference::expiry, {"string", -1, "aaaa"}), difference::changed);
  EXPECT_EQ(judged(difference::expiry, {"string", 9000, "aaaa"}), difference::changed);
  // No digest (too large for one): only the expiry can tell.
  EXPECT_EQ(judged(difference::value, {"string", 5000, ""}), difference::value);
  // A target that lost the key is missing whatever the source did; equal stays equal.
  EXPECT_EQ(judged(difference::missing, {"string", 5000, "bbbb"}), difference::missing);
  EXPECT_EQ(judged(difference::none, {"string", 5000, "bbbb"}), difference::none);
}

TEST(verdict, sides_are_described_without_their_values) {
  EXPECT_EQ(describe(key_state{}), "absent");
  EXPECT_EQ(describe(key_state{"hash", -1, "d", 3}), "hash, 3 fields, no expiry");
  EXPECT_EQ(describe(key_state{"list", -1, "d", 1}), "list, 1 element, no expiry");
  EXPECT_EQ(describe(key_state{"stream", -1, "d", 1}), "stream, 1 entry, no expiry");
  EXPECT_EQ(describe(key_state{"zset", -1, "d", 2}), "zset, 2 members, no expiry");
  EXPECT_EQ(describe(key_state{"string", 1'795'341'600'123, "d", -1}),
            "string, expires at 2026-11-22T10:00:00.123Z");
  EXPECT_EQ(utc_time(0), "1970-01-01T00:00:00.000Z");
}

TEST(verdict, dump_digest_drops_the_version_and_checksum_trailer) {
  // SHA-1("abc"), the FIPS 180 example.
  EXPECT_EQ(sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(dump_digest(std::string("abc") + "0123456789"), sha1_hex("abc"));
  // Two payloads that differ only in the trailer (another RDB version) agree.
  using namespace std::string_literals;
  EXPECT_EQ(dump_digest("payload\x0a\x00XXXXXXXX"s), dump_digest("payload\x0b\x00YYYYYYYY"s));
  EXPECT_NE(dump_digest("payload\x0a\x00XXXXXXXX"s), dump_digest("paylOad\x0a\x00XXXXXXXX"s));
  EXPECT_EQ(dump_digest("short"), sha1_hex(""));
  EXPECT_EQ(dump_digest("payload\x0a\x00XXXXXXXX"s), sha1_hex("payload"));
}

TEST(verdict, scores_compare_as_numbers) {
  EXPECT_TRUE(same_score("1.5", "1.5"));
  EXPECT_TRUE(same_score("1e+20", "100000000000000000000"));
  EXPECT_TRUE(same_score("inf", "inf"));
  EXPECT_TRUE(same_score("-inf", "-inf"));
  EXPECT_FALSE(same_score("inf", "-inf"));
  EXPECT_FALSE(same_score("1.5", "1.5000000000000002"));
  EXPECT_FALSE(same_score("2", "3"));
  EXPECT_FALSE(same_score("", "0"));
}

TEST(verdict, sizes_are_estimated_from_lengths) {
  EXPECT_EQ(estimated_bytes("string", 100), 100u);
  EXPECT_EQ(estimated_bytes("hash", 10), 640u);
  EXPECT_EQ(estimated_bytes("stream", 2), 128u);
  EXPECT_EQ(estimated_bytes("string", -1), 0u);
  EXPECT_EQ(estimated_bytes("MBbloom--", 1000), 0u);
}

TEST(verdict, kinds_have_the_names_of_the_diff_file) {
  EXPECT_EQ(name_of(difference::missing), "missing");
  EXPECT_EQ(name_of(difference::extra), "extra");
  EXPECT_EQ(name_of(difference::type), "type");
  EXPECT_EQ(name_of(difference::value), "value");
  EXPECT_EQ(name_of(difference::expiry), "expiry");
  EXPECT_EQ(name_of(difference::changed), "changed");
}

TEST(verdict, short_text_is_printable_and_cut) {
  EXPECT_EQ(short_text("a\nb"), "a\\x0ab");
  EXPECT_EQ(short_text(std::string(50, 'x'), 10), std::string(10, 'x') + "...");
}

TEST(verdict, a_diff_line_names_kind_and_key_exactly_and_describes_both_sides) {
  using namespace std::string_literals;
  verdict v;
  v.key = protocol::bytes::copy_of("k\0\xff\"x"s);
  v.kind = difference::value;
  v.source = key_state{"hash", -1, "aa", 3};
  v.target = key_state{"hash", 1'795'341'600'000, "bb", 3};
  v.detail = "field \"f\" differs";
  v.rounds = 2;
  const std::string text = diff_line(v);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["kind"], "value");
  EXPECT_EQ(json["key"], "k\\x00\\xff\\\"x");
  EXPECT_EQ(json["key_base64"], "awD/Ing=");
  EXPECT_EQ(json["source"], "hash, 3 fields, no expiry");
  EXPECT_EQ(json["target"], "hash, 3 fields, expires at 2026-11-22T10:00:00.000Z");
  EXPECT_EQ(json["detail"], "field \"f\" differs");
  EXPECT_EQ(json["rounds"], 2);
  EXPECT_FALSE(json.contains("repaired"));
  // The fields come in the documented order.
  EXPECT_EQ(text.rfind("{\"kind\":\"value\",\"key\":", 0), 0u) << text;

  const auto repaired = nlohmann::json::parse(diff_line(v, true));
  EXPECT_EQ(repaired["repaired"], true);
  EXPECT_FALSE(repaired.contains("repair_error"));
  const auto failed = nlohmann::json::parse(diff_line(v, false, "OOM\r\n"));
  EXPECT_EQ(failed["repaired"], false);
  EXPECT_EQ(failed["repair_error"], "OOM\\x0d\\x0a");

  verdict extra;
  extra.key = protocol::bytes::copy_of("only-here");
  extra.kind = difference::extra;
  extra.target = key_state{"string", -1, "", 1};
  const auto line = nlohmann::json::parse(diff_line(extra));
  EXPECT_EQ(line["source"], "absent");
  EXPECT_EQ(line["target"], "string, 1 byte, no expiry");
  EXPECT_FALSE(line.contains("detail"));
}

}  // namespace
}  // namespace ferry::engine
