// Struct mode for import, stepped without a server: which type commands a file's decoded value
// (value_decoder events) becomes on the target per type, in one transaction or in chunks under a
// temporary key, and what each answer leads to.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "engine/import/struct_events.hpp"
#include "engine/import/struct_writer.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/wire/key_slot.hpp"
#include "protocol/wire/resp_reader.hpp"
#include "rdb_build.hpp"

namespace ferry::engine {
namespace {

namespace rdb = protocol::rdb;
using protocol::reply;
using protocol::reply_kind;
using testing::ElementsAre;
using testing::HasSubstr;
using args = std::vector<std::string>;

reply status(std::string_view s) {
  reply r;
  r.kind = reply_kind::status;
  r.str = protocol::bytes::copy_of(s);
  return r;
}
reply error(std::string_view s) {
  reply r = status(s);
  r.kind = reply_kind::error;
  return r;
}
reply integer(std::int64_t n) {
  reply r;
  r.kind = reply_kind::integer;
  r.integer = n;
  return r;
}
reply array(std::vector<reply> elements) {
  reply r;
  r.kind = reply_kind::array;
  r.elements = std::move(elements);
  return r;
}
std::vector<reply> queued(std::size_t n) { return std::vector<reply>(n, status("QUEUED")); }

/// The machine's target step, each command as its arguments.
std::vector<args> step(event_rebuild& k) {
  EXPECT_EQ(k.step(), event_step::target);
  protocol::resp_reader reader;
  reader.feed(k.commands().flatten());
  std::vector<args> commands;
  for (;;) {
    auto r = reader.next();
    if (!r.has_value() || !r->has_value()) break;
    args a;
    for (const reply& e : (*r)->elements) a.push_back(e.str.str());
    commands.push_back(std::move(a));
  }
  EXPECT_EQ(k.expected_replies(), commands.size());
  return commands;
}

void give(event_rebuild& k, std::vector<reply> replies) { k.take(replies); }

/// Event builders.
rdb::value_event begin(rdb::value_kind kind, std::int64_t count = -1) {
  rdb::value_event e;
  e.type = rdb::event_type::begin;
  e.kind = kind;
  e.count = count;
  return e;
}
rdb::value_event piece(rdb::event_type type, std::string_view data, std::uint64_t item_size = 0,
                       std::uint64_t offset = 0) {
  rdb::value_event e;
  e.type = type;
  e.data = data;
  e.item_size = item_size == 0 ? data.size() : item_size;
  e.piece_offset = offset;
  return e;
}
rdb::value_event member(std::string_view m, double score) {
  rdb::value_event e = piece(rdb::event_type::zset_member, m);
  e.score = score;
  return e;
}
rdb::value_event field_expiry(std::int64_t ms) {
  rdb::value_event e;
  e.type = rdb::event_type::hash_field_expiry;
  e.expire_ms = ms;
  return e;
}
rdb::value_event end() {
  rdb::value_event e;
  e.type = rdb::event_type::end;
  return e;
}

void feed(event_rebuild& k, const std::vector<rdb::value_event>& events) {
  for (const auto& e : events) {
    ASSERT_EQ(k.step(), event_step::events);
    k.take_event(e);
  }
}

constexpr std::int64_t now = 1'700'000'000'000;
constexpr std::int64_t later = 4'000'000'000'000;

struct fixture : testing::Test {
  rebuild_caps caps;
  rebuild_sizes sizes;
  event_rebuild make(std::string key, std::uint64_t hint, std::int64_t expire = 0,
                     bool keep = false) {
    const auto slot = protocol::key_slot(key);
    return event_rebuild({key, slot, expire, hint, keep, temp_key_prefix(slot, "job1", 7), now},
                         caps, sizes);
  }
  fixture() { caps.target_field_ttls = true; }
};

TEST_F(fixture, a_small_hash_is_written_in_one_transaction_with_its_absolute_expiry) {
  auto k = make("h", 40, later);
  feed(k, {begin(rdb::value_kind::hash, 2), piece(rdb::event_type::hash_field, "a"),
           piece(rdb::event_type::hash_value, "1"), piece(rdb::event_type::hash_field, "b"),
           piece(rdb::event_type::hash_value, "2"), end()});
  EXPECT_THAT(step(k),
              ElementsAre(args{"MULTI"}, args{"DEL", "h"}, args{"HSET", "h", "a", "1", "b", "2"},
                          args{"PEXPIREAT", "h", std::to_string(later)}, args{"EXEC"}));
  auto replies = std::vector<reply>{status("OK")};
  for (auto& q : queued(3)) replies.push_back(q);
  replies.push_back(array({integer(0), integer(2), integer(1)}));
  give(k, replies);
  ASSERT_EQ(k.step(), event_step::done);
  EXPECT_EQ(k.outcome().end, rebuild_end::copied);
  EXPECT_EQ(k.outcome().expire_at_ms, later);
}

TEST_F(fixture, a_big_string_goes_out_in_chunks_as_its_pieces_come_then_is_renamed) {
  sizes.chunk_bytes = 4;
  auto k = make("big", 0);
  const std::string temp = k.temp_key();
  EXPECT_TRUE(temp.starts_with("ferry:tmp:{"));
  EXPECT_EQ(protocol::key_slot(temp), protocol::key_slot("big"));
  feed(k, {begin(rdb::value_kind::string), piece(rdb::event_type::string_piece, "abc", 6, 0)});
  feed(k, {piece(rdb::event_type::string_piece, "d", 6, 3)});
  EXPECT_THAT(step(k), ElementsAre(args{"SET", temp, "abcd", "PX", "300000"}));
  give(k, {status("OK")});
  feed(k, {piece(rdb::event_type::string_piece, "ef", 6, 4), end()});
  EXPECT_THAT(step(k), ElementsAre(args{"APPEND", temp, "ef"}, args{"PEXPIRE", temp, "300000"}));
  give(k, {integer(6), integer(1)});
  EXPECT_THAT(step(k),
              ElementsAre(args{"STRLEN", temp}, args{"MULTI"}, args{"EXISTS", "big"},
                          args{"PERSIST", temp}, args{"RENAME", temp, "big"}, args{"EXEC"}));
  give(k, {integer(6), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(0), integer(1), status("OK")})});
  ASSERT_EQ(k.step(), event_step::done);
  EXPECT_EQ(k.outcome().end, rebuild_end::copied);
  EXPECT_FALSE(k.outcome().changed);
  EXPECT_EQ(k.outcome().bytes, 6u);
}

TEST_F(fixture, scores_are_printed_so_that_they_read_back_to_the_same_double) {
  for (const double d : {1.5, -0.0, 0.1, 1e300, -2.5e-310, 3.0, 123456789.123456789}) {
    EXPECT_EQ(std::strtod(format_score(d).c_str(), nullptr), d) << format_score(d);
  }
  EXPECT_EQ(format_score(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(format_score(-std::numeric_limits<double>::infinity()), "-inf");
  auto k = make("z", 30);
  feed(k, {begin(rdb::value_kind::zset, 3), member("a", 1.5),
           member("b", std::numeric_limits<double>::infinity()),
           member("c", -std::numeric_limits<double>::infinity()), end()});
  EXPECT_THAT(step(k),
              ElementsAre(args{"MULTI"}, args{"DEL", "z"},
                          args{"ZADD", "z", "1.5", "a", "inf", "b", "-inf", "c"}, args{"EXEC"}));
}

TEST_F(fixture, field_expiries_are_set_expired_fields_left_out_and_an_old_target_refused) {
  auto k = make("h", 60);
  feed(k, {begin(rdb::value_kind::hash, 3), piece(rdb::event_type::hash_field, "a"),
           piece(rdb::event_type::hash_value, "1"), field_expiry(later),
           piece(rdb::event_type::hash_field, "gone"), piece(rdb::event_type::hash_value, "x"),
           field_expiry(now - 1), piece(rdb::event_type::hash_field, "c"),
           piece(rdb::event_type::hash_value, "3"), field_expiry(0), end()});
  EXPECT_THAT(step(k),
              ElementsAre(args{"MULTI"}, args{"DEL", "h"}, args{"HSET", "h", "a", "1", "c", "3"},
                          args{"HPEXPIREAT", "h", std::to_string(later), "FIELDS", "1", "a"},
                          args{"EXEC"}));

  caps.target_field_ttls = false;
  auto old = make("h", 60);
  feed(old, {begin(rdb::value_kind::hash, 1), piece(rdb::event_type::hash_field, "a"),
             piece(rdb::event_type::hash_value, "1"), field_expiry(later)});
  ASSERT_EQ(old.step(), event_step::done);
  EXPECT_EQ(old.outcome().end, rebuild_end::failed);
  EXPECT_THAT(old.outcome().detail, HasSubstr("Redis 7.4"));
}

TEST_F(fixture, elements_are_assembled_from_their_pieces_and_a_huge_one_fails_the_key) {
  sizes.chunk_bytes = 1 << 20;
  auto k = make("l", 0);
  feed(k,
       {begin(rdb::value_kind::list), piece(rdb::event_type::element, "he", 5, 0),
        piece(rdb::event_type::element, "llo", 5, 2), piece(rdb::event_type::element, "x"), end()});
  const std::string temp = k.temp_key();
  EXPECT_THAT(step(k),
              ElementsAre(args{"RPUSH", temp, "hello", "x"}, args{"PEXPIRE", temp, "300000"}));
  give(k, {integer(2), integer(1)});
  EXPECT_THAT(step(k)[0], ElementsAre("LLEN", temp));

  sizes.max_element_bytes = 4;
  auto big = make("l", 0);
  feed(big, {begin(rdb::value_kind::list), piece(rdb::event_type::element, "he", 5, 0)});
  ASSERT_EQ(big.step(), event_step::done);
  EXPECT_EQ(big.outcome().error, protocol::errc::key_too_large);
}

TEST_F(fixture, a_stream_gets_its_entries_ids_groups_consumers_and_pending_entries) {
  auto k = make("s", 100);
  rdb::value_event entry;
  entry.type = rdb::event_type::stream_entry;
  entry.id = {5, 1};
  const std::vector<std::string_view> fields{"f", "v"};
  entry.fields = fields;
  rdb::value_event meta;
  meta.type = rdb::event_type::stream_meta;
  meta.meta.length = 1;
  meta.meta.last_id = {7, 0};
  meta.meta.max_deleted_id = {6, 0};
  meta.meta.entries_added = 3;
  rdb::value_event group;
  group.type = rdb::event_type::stream_group;
  group.group.name = "g";
  group.group.last_delivered_id = {5, 1};
  group.group.entries_read = 2;
  rdb::value_event consumer;
  consumer.type = rdb::event_type::stream_consumer;
  consumer.consumer.name = "alice";
  rdb::value_event pending;
  pending.type = rdb::event_type::stream_pending;
  pending.pending.id = {5, 1};
  pending.pending.consumer = "alice";
  pending.pending.delivery_time_ms = now - 500;
  pending.pending.delivery_count = 4;
  feed(k, {begin(rdb::value_kind::stream), entry, meta, group, consumer, pending, end()});
  const std::string t = k.temp_key();
  EXPECT_THAT(step(k),
              ElementsAre(args{"XADD", t, "5-1", "f", "v"},
                          args{"XSETID", t, "7-0", "ENTRIESADDED", "3", "MAXDELETEDID", "6-0"},
                          args{"XGROUP", "CREATE", t, "g", "5-1", "ENTRIESREAD", "2"},
                          args{"XGROUP", "CREATECONSUMER", t, "g", "alice"},
                          args{"XCLAIM", t, "g", "alice", "0", "5-1", "TIME",
                               std::to_string(now - 500), "RETRYCOUNT", "4", "FORCE", "JUSTID"},
                          args{"PEXPIRE", t, "300000"}));
  give(k,
       {status("5-1"), status("OK"), status("OK"), integer(1), array({status("5-1")}), integer(1)});
  EXPECT_EQ(k.outcome().lost_pending, 0u);
  EXPECT_THAT(step(k)[0], ElementsAre("XLEN", t));

  // An older target: no stream metadata of Redis 7, consumers made by XCLAIM.
  caps.target_stream_v2 = false;
  caps.target_createconsumer = false;
  auto old = make("s", 100);
  feed(old, {begin(rdb::value_kind::stream), meta, group, end()});
  const std::string t2 = old.temp_key();
  EXPECT_THAT(step(old),
              ElementsAre(args{"XGROUP", "CREATE", t2, "ferry-new", "$", "MKSTREAM"},
                          args{"XGROUP", "DESTROY", t2, "ferry-new"}, args{"XSETID", t2, "7-0"},
                          args{"XGROUP", "CREATE", t2, "g", "5-1"}, args{"PEXPIRE", t2, "300000"}));
}

TEST_F(fixture, existing_keys_are_kept_with_renamenx_and_the_temporary_key_deleted) {
  auto k = make("k", 10, 0, /*keep=*/true);
  feed(k, {begin(rdb::value_kind::set, 1), piece(rdb::event_type::element, "m"), end()});
  const std::string t = k.temp_key();
  EXPECT_THAT(step(k), ElementsAre(args{"SADD", t, "m"}, args{"PEXPIRE", t, "300000"}));
  give(k, {integer(1), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"SCARD", t}, args{"MULTI"}, args{"EXISTS", "k"},
                                   args{"PERSIST", t}, args{"RENAMENX", t, "k"}, args{"EXEC"}));
  give(k, {integer(1), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(1), integer(1), integer(0)})});
  EXPECT_THAT(step(k), ElementsAre(args{"DEL", t}));
  give(k, {integer(1)});
  ASSERT_EQ(k.step(), event_step::done);
  EXPECT_EQ(k.outcome().end, rebuild_end::exists);
}

TEST_F(fixture, a_key_started_again_gets_a_new_temporary_name_and_takes_its_events_again) {
  sizes.chunk_bytes = 2;
  auto k = make("l", 0);
  feed(k, {begin(rdb::value_kind::list), piece(rdb::event_type::element, "ab")});
  const std::string first = k.temp_key();
  ASSERT_EQ(k.step(), event_step::target);
  k.start_again();
  EXPECT_NE(k.temp_key(), first);
  EXPECT_EQ(k.attempts(), 1u);
  feed(k, {begin(rdb::value_kind::list), piece(rdb::event_type::element, "ab")});
  EXPECT_THAT(step(k)[0], ElementsAre("RPUSH", k.temp_key(), "ab"));
  give(k, {integer(1), integer(1)});
  feed(k, {end()});
  // The temporary key expired before the rename: built again.
  give(k, {integer(1), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(0), integer(0), error("ERR no such key")})});
  EXPECT_EQ(k.attempts(), 2u);
  EXPECT_EQ(k.step(), event_step::events);
}

TEST_F(fixture, a_refusal_on_the_target_fails_the_key_and_deletes_what_it_wrote) {
  sizes.chunk_bytes = 2;
  auto k = make("l", 0);
  feed(k, {begin(rdb::value_kind::list), piece(rdb::event_type::element, "ab")});
  give(k, {integer(1), integer(1)});
  feed(k, {piece(rdb::event_type::element, "cd")});
  give(k, {error("WRONGTYPE Operation against a key holding the wrong kind of value"), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"DEL", k.temp_key()}));
  give(k, {integer(1)});
  ASSERT_EQ(k.step(), event_step::done);
  EXPECT_EQ(k.outcome().end, rebuild_end::failed);
  EXPECT_THAT(k.outcome().detail, HasSubstr("RPUSH on the target"));
}

// Real payloads decoded by value_decoder (listpack hash and set, an integer string): what a
// file's encodings become.
TEST_F(fixture, payloads_of_several_encodings_become_the_same_commands) {
  using namespace rdb::testing;
  struct sample {
    std::uint8_t type;
    std::string value;
    args command;
  };
  const std::vector<sample> samples{
      {16,
       str(listpack({lp_str("f"), lp_int(12), lp_str("g"), lp_str("v")})),
       {"HSET", "k", "f", "12", "g", "v"}},
      {20, str(listpack({lp_int(-3), lp_str("m")})), {"SADD", "k", "-3", "m"}},
      {0, byte(0xc0) + byte(42), {"SET", "k", "42"}},
      {0, str("plain"), {"SET", "k", "plain"}},
  };
  for (const sample& s : samples) {
    const std::string payload = rdb::make_payload(s.type, s.value, 11);
    payload_events events(payload);
    auto k = make("k", payload.size());
    for (int guard = 0; guard < 100 && k.step() == event_step::events; ++guard) {
      auto e = events.next();
      ASSERT_TRUE(e) << e.error().message;
      ASSERT_NE(*e, nullptr);
      k.take_event(**e);
    }
    const auto commands = step(k);
    ASSERT_EQ(commands.size(), 4u) << s.command[0];
    EXPECT_EQ(commands[2], s.command);
    EXPECT_TRUE(events.rewind());
  }
}

}  // namespace
}  // namespace ferry::engine
