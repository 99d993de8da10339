// The copy's (and the importer's) payload decision, engine/transfer/payload_fit.hpp, on the DUMP
// payloads of every type that real servers wrote (tests/data/rdb: Redis 5.0, 6.2, 7.0, 7.4,
// Valkey 8.0) against every target generation: it must agree with the RDB library's own
// in-place rewrite (protocol/rdb downgrade_payload) byte for byte, and the rewritten payload,
// as the writer sends it (command_buffer::arg_ref_with_tail, the payload not copied), must be
// that same payload.

#include "engine/transfer/payload_fit.hpp"

#include <gtest/gtest.h>

#include <map>

#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/wire/command.hpp"
#include "tests/unit/rdb_support.hpp"

namespace ferry::engine {
namespace {

namespace rdb = protocol::rdb;

/// The bulk string the writer sends for `payload` with `fit` applied, read back from the
/// encoded command.
std::string as_sent(const std::string& payload, const payload_fit& fit, std::size_t copy_below) {
  protocol::command_buffer commands(copy_below);
  commands.begin(2);
  commands.arg("RESTORE");
  const auto owned = protocol::bytes::copy_of(payload);
  commands.arg_ref_with_tail(owned, std::string_view(fit.trailer.data(), fit.trailer.size()));
  // What a connection writes: the gather list, not flatten()'s copy.
  std::string text;
  for (std::string_view segment : commands.segments()) {
    EXPECT_FALSE(segment.empty());
    text += segment;
  }
  EXPECT_EQ(text, commands.flatten());
  // "*2\r\n$7\r\nRESTORE\r\n$<n>\r\n<bytes>\r\n"
  const std::size_t header = text.find('$', 4 + 13);
  const std::size_t start = text.find("\r\n", header) + 2;
  const std::size_t n = std::stoul(text.substr(header + 1, start - 2 - header - 1));
  EXPECT_EQ(text.size(), start + n + 2);
  return text.substr(start, n);
}

TEST(payload_fit, agrees_with_the_rdb_library_on_every_real_payload_and_target) {
  std::map<payload_way, int> seen;
  for (const std::string& server : ferry::protocol::rdb::testing::fixture_versions()) {
    const auto keys = ferry::protocol::rdb::testing::load_fixture(server);
    ASSERT_GT(keys.size(), 30u) << "fixture missing: run tests/data/rdb/generate.py";
    for (const auto& k : keys) {
      for (std::uint16_t target : {9, 10, 11, 12, 80}) {
        SCOPED_TRACE(server + " " + k.key + " -> RDB " + std::to_string(target));
        std::string library = k.payload;
        auto verdict = rdb::downgrade_payload(library, target);
        ASSERT_TRUE(verdict.ok()) << verdict.error().message;
        const payload_fit fit = fit_payload(k.payload, target);
        ++seen[fit.way];
        EXPECT_EQ(fit.type_id, static_cast<std::uint8_t>(k.payload[0]));
        switch (verdict->verdict) {
          case rdb::downgrade_verdict::unchanged:
            EXPECT_EQ(fit.way, payload_way::as_is);
            EXPECT_EQ(fit.to, fit.from);
            break;
          case rdb::downgrade_verdict::needs_struct:
            EXPECT_EQ(fit.way, payload_way::rebuild);
            EXPECT_NE(fit.reason.find("no exact form"), std::string::npos) << fit.reason;
            break;
          case rdb::downgrade_verdict::rewritten: {
            ASSERT_EQ(fit.way, payload_way::downgraded);
            EXPECT_EQ(fit.to, verdict->version);
            std::string mine = k.payload;
            apply_fit(mine, fit);
            EXPECT_EQ(mine, library);
            // Sent by reference (a long payload) and copied (a short one): the same bytes.
            EXPECT_EQ(as_sent(k.payload, fit, 0), library);
            EXPECT_EQ(as_sent(k.payload, fit, 1 << 20), library);
            // Still the server's value.
            EXPECT_EQ(ferry::protocol::rdb::testing::decode_canonical(
                          mine, ferry::protocol::rdb::testing::stream_v2_fields(server)),
                      k.items);
            break;
          }
        }
      }
    }
  }
  // The fixtures hold all three cases (7.4 strings downgrade for 6.2, listpack hashes do not).
  EXPECT_GT(seen[payload_way::as_is], 0);
  EXPECT_GT(seen[payload_way::downgraded], 0);
  EXPECT_GT(seen[payload_way::rebuild], 0);
}

TEST(payload_fit, an_unknown_target_version_leaves_every_payload_alone) {
  for (const auto& k : ferry::protocol::rdb::testing::load_fixture("7.4")) {
    EXPECT_EQ(fit_payload(k.payload, 0).way, payload_way::as_is);
  }
}

TEST(payload_fit, a_damaged_payload_is_never_given_a_valid_checksum) {
  std::string p = rdb::make_payload(rdb::type::string,
                                    std::string("\x03"
                                                "abc",
                                                4),
                                    12);
  ASSERT_EQ(fit_payload(p, 9).way, payload_way::downgraded);
  p[2] ^= 0x01;
  const payload_fit fit = fit_payload(p, 9);
  EXPECT_EQ(fit.way, payload_way::as_is);  // the target refuses it in its own words
  EXPECT_EQ(fit.from, 12);
}

TEST(payload_fit, short_input_and_old_targets) {
  EXPECT_EQ(fit_payload("", 9).way, payload_way::as_is);
  EXPECT_EQ(fit_payload("\x00\x01\x02", 9).type_id, 0xff);
  // Below RDB 6 no rewrite is exact (ziplists may hold 24-bit integers older servers misread).
  const std::string hash = rdb::make_payload(rdb::type::hash, "\x00", 12);
  const payload_fit fit = fit_payload(hash, 5);
  EXPECT_EQ(fit.way, payload_way::rebuild);
  EXPECT_NE(fit.reason.find("RDB 12"), std::string::npos) << fit.reason;
  EXPECT_NE(fit.reason.find("RDB 5"), std::string::npos) << fit.reason;
}

TEST(payload_fit, apply_leaves_other_ways_alone) {
  std::string p = rdb::make_payload(rdb::type::hash_listpack, "\x00", 12);
  const std::string before = p;
  const payload_fit fit = fit_payload(p, 9);
  ASSERT_EQ(fit.way, payload_way::rebuild);
  apply_fit(p, fit);
  EXPECT_EQ(p, before);
}

}  // namespace
}  // namespace ferry::engine
