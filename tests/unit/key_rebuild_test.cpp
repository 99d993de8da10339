// The struct-mode machine stepped reply by reply: which commands each type's copy sends to the
// source and the target, and what each answer leads to (no server).

#include "engine/transfer/key_rebuild.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/wire/key_slot.hpp"
#include "protocol/wire/resp_reader.hpp"

namespace ferry::engine {
namespace {

using protocol::reply;
using protocol::reply_kind;
using testing::ElementsAre;
using testing::HasSubstr;
using args = std::vector<std::string>;

reply bulk(std::string_view s) {
  reply r;
  r.kind = reply_kind::string;
  r.str = protocol::bytes::copy_of(s);
  return r;
}
reply status(std::string_view s) {
  reply r = bulk(s);
  r.kind = reply_kind::status;
  return r;
}
reply error(std::string_view s) {
  reply r = bulk(s);
  r.kind = reply_kind::error;
  return r;
}
reply integer(std::int64_t n) {
  reply r;
  r.kind = reply_kind::integer;
  r.integer = n;
  return r;
}
reply nil() { return {}; }
reply array(std::vector<reply> elements) {
  reply r;
  r.kind = reply_kind::array;
  r.elements = std::move(elements);
  return r;
}
reply bulks(std::vector<std::string> items) {
  std::vector<reply> out;
  for (const auto& s : items) out.push_back(bulk(s));
  return array(std::move(out));
}
reply skipped(std::size_t length) {
  reply r;
  r.kind = reply_kind::skipped;
  r.integer = static_cast<std::int64_t>(length);
  return r;
}

// The commands of the machine's next step, each as its arguments (decoded with the RESP reader:
// a command is an array of bulk strings).
std::vector<args> step(const key_rebuild& k, bool asking = false) {
  protocol::command_buffer out;
  const std::size_t n = k.encode(out, asking);
  protocol::resp_reader reader;
  reader.feed(out.flatten());
  std::vector<args> commands;
  for (;;) {
    auto r = reader.next();
    if (!r.has_value() || !r->has_value()) break;
    args a;
    for (const reply& e : (*r)->elements) a.push_back(e.str.str());
    commands.push_back(std::move(a));
  }
  EXPECT_EQ(n, asking ? commands.size() / 2 : commands.size());
  return commands;
}

void give(key_rebuild& k, std::vector<reply> replies, std::int64_t now = 1'000) {
  k.take(replies, now);
}

constexpr std::int64_t later = 4'000'000'000'000;  // an expiry far ahead

struct fixture : testing::Test {
  rebuild_caps caps;
  rebuild_sizes sizes;
  key_rebuild make(std::string key, value_type type, std::uint64_t hint, bool keep = false) {
    const auto slot = protocol::key_slot(key);
    return key_rebuild({protocol::bytes::copy_of(key), slot, type, hint, true, keep,
                        temp_key_prefix(slot, "job1", 7)},
                       caps, sizes);
  }
};

TEST(temp_key, lives_in_the_slot_of_its_key_under_the_documented_prefix) {
  const std::string name = temp_key_prefix(protocol::key_slot("user:42"), "abc", 3);
  EXPECT_TRUE(name.starts_with(temp_key_marker));
  EXPECT_EQ(protocol::key_slot(name), protocol::key_slot("user:42"));
  EXPECT_THAT(name, HasSubstr(":abc:3"));
}

TEST_F(fixture, a_small_hash_is_read_whole_and_written_in_one_transaction) {
  auto k = make("h", value_type::hash, 100);
  EXPECT_EQ(k.side(), rebuild_side::source);
  EXPECT_THAT(step(k), ElementsAre(args{"HGETALL", "h"}, args{"PEXPIRETIME", "h"}));
  give(k, {bulks({"f1", "v1", "f2", "v2"}), integer(later)});
  ASSERT_EQ(k.side(), rebuild_side::target);
  EXPECT_THAT(step(k), ElementsAre(args{"MULTI"}, args{"DEL", "h"},
                                   args{"HSET", "h", "f1", "v1", "f2", "v2"},
                                   args{"PEXPIREAT", "h", std::to_string(later)}, args{"EXEC"}));
  give(k, {status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(0), integer(2), integer(1)})});
  ASSERT_EQ(k.side(), rebuild_side::done);
  EXPECT_EQ(k.outcome().end, rebuild_end::copied);
  EXPECT_EQ(k.outcome().bytes, 8u);
}

TEST_F(fixture, a_key_the_target_held_counts_as_rescanned_and_ptll_is_made_absolute) {
  caps.source_pexpiretime = false;
  auto k = make("s", value_type::string, 10);
  EXPECT_THAT(step(k), ElementsAre(args{"GET", "s"}, args{"PTTL", "s"}));
  give(k, {bulk("value"), integer(5'000)}, 1'000'000);
  EXPECT_THAT(step(k), ElementsAre(args{"MULTI"}, args{"DEL", "s"}, args{"SET", "s", "value"},
                                   args{"PEXPIREAT", "s", "1005000"}, args{"EXEC"}));
  give(k, {status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(1), status("OK"), integer(1)})});
  EXPECT_EQ(k.outcome().end, rebuild_end::rescanned);
}

TEST_F(fixture, sorted_set_scores_travel_as_printed_infinities_included) {
  auto k = make("z", value_type::zset, 50);
  EXPECT_THAT(step(k),
              ElementsAre(args{"ZRANGE", "z", "0", "-1", "WITHSCORES"}, args{"PEXPIRETIME", "z"}));
  give(k, {bulks({"a", "-inf", "b", "0.10000000000000001", "c", "inf"}), integer(-1)});
  EXPECT_THAT(step(k),
              ElementsAre(args{"MULTI"}, args{"DEL", "z"},
                          args{"ZADD", "z", "-inf", "a", "0.10000000000000001", "b", "inf", "c"},
                          args{"EXEC"}));
}

TEST_F(fixture, a_vanished_or_expired_key_is_not_written) {
  auto gone = make("s", value_type::string, 10);
  give(gone, {nil(), integer(-2)});
  EXPECT_EQ(gone.outcome().end, rebuild_end::vanished);
  auto expired = make("l", value_type::list, 10);
  give(expired, {bulks({"x"}), integer(900)}, 1'000);
  EXPECT_EQ(expired.outcome().end, rebuild_end::vanished);
}

TEST_F(fixture, a_big_string_is_built_in_chunks_under_a_temporary_key_then_renamed) {
  sizes.chunk_bytes = 4;
  auto k = make("big", value_type::string, 0);
  const std::string temp = k.temp_key();
  EXPECT_TRUE(temp.starts_with("ferry:tmp:"));
  EXPECT_THAT(step(k), ElementsAre(args{"GETRANGE", "big", "0", "3"}, args{"STRLEN", "big"}));
  give(k, {bulk("abcd"), integer(6)});
  EXPECT_THAT(step(k), ElementsAre(args{"SET", temp, "abcd", "PX", "300000"}));
  give(k, {status("OK")});
  EXPECT_THAT(step(k), ElementsAre(args{"GETRANGE", "big", "4", "7"}));
  give(k, {bulk("ef")});
  EXPECT_THAT(step(k), ElementsAre(args{"APPEND", temp, "ef"}, args{"PEXPIRE", temp, "300000"}));
  give(k, {integer(6), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"STRLEN", "big"}, args{"PEXPIRETIME", "big"}));
  give(k, {integer(6), integer(-1)});
  EXPECT_THAT(step(k),
              ElementsAre(args{"STRLEN", temp}, args{"MULTI"}, args{"EXISTS", "big"},
                          args{"PERSIST", temp}, args{"RENAME", temp, "big"}, args{"EXEC"}));
  give(k, {integer(6), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(0), integer(1), status("OK")})});
  ASSERT_EQ(k.side(), rebuild_side::done);
  EXPECT_EQ(k.outcome().end, rebuild_end::copied);
  EXPECT_FALSE(k.outcome().changed);
  EXPECT_EQ(k.outcome().bytes, 6u);
}

TEST_F(fixture, a_list_that_grows_while_read_in_chunks_is_counted_changed) {
  auto k = make("l", value_type::list, 0);
  const std::string temp = k.temp_key();
  EXPECT_THAT(step(k), ElementsAre(args{"LRANGE", "l", "0", "99"}, args{"LLEN", "l"}));
  give(k, {bulks({"a", "b"}), integer(2)});
  EXPECT_THAT(step(k), ElementsAre(args{"RPUSH", temp, "a", "b"}, args{"PEXPIRE", temp, "300000"}));
  give(k, {integer(2), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"LLEN", "l"}, args{"PEXPIRETIME", "l"}));
  give(k, {integer(3), integer(later)});
  EXPECT_THAT(step(k)[3], (args{"PEXPIREAT", temp, std::to_string(later)}));
  give(k, {integer(2), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(0), integer(1), status("OK")})});
  EXPECT_EQ(k.outcome().end, rebuild_end::copied);
  EXPECT_TRUE(k.outcome().changed);
}

TEST_F(fixture, sets_and_hashes_are_scanned_with_their_cursor) {
  auto k = make("s", value_type::set, 0);
  const std::string temp = k.temp_key();
  EXPECT_THAT(step(k), ElementsAre(args{"SSCAN", "s", "0", "COUNT", "100"}, args{"SCARD", "s"}));
  give(k, {array({bulk("17"), bulks({"m1", "m2"})}), integer(3)});
  EXPECT_THAT(step(k),
              ElementsAre(args{"SADD", temp, "m1", "m2"}, args{"PEXPIRE", temp, "300000"}));
  give(k, {integer(2), integer(1)});
  // Two-byte members: the next page may ask for twice as many.
  EXPECT_THAT(step(k), ElementsAre(args{"SSCAN", "s", "17", "COUNT", "200"}));
  give(k, {array({bulk("0"), bulks({"m3"})})});
  step(k);
  give(k, {integer(1), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"SCARD", "s"}, args{"PEXPIRETIME", "s"}));
}

TEST_F(fixture, existing_keys_are_kept_with_renamenx_and_the_temporary_key_deleted) {
  auto k = make("s", value_type::string, 10, /*keep=*/true);
  const std::string temp = k.temp_key();
  EXPECT_THAT(step(k)[0], (args{"GETRANGE", "s", "0", "524287"}));
  give(k, {bulk("v"), integer(1)});
  give(k, {status("OK")});
  give(k, {integer(1), integer(-1)});
  EXPECT_THAT(step(k)[4], (args{"RENAMENX", temp, "s"}));
  give(k, {integer(1), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(1), integer(1), integer(0)})});
  EXPECT_THAT(step(k), ElementsAre(args{"DEL", temp}));
  give(k, {integer(1)});
  EXPECT_EQ(k.outcome().end, rebuild_end::exists);
}

TEST_F(fixture, hash_field_expiries_are_read_and_set_or_refused_by_an_old_target) {
  caps.source_field_ttls = true;
  caps.target_field_ttls = true;
  auto k = make("h", value_type::hash, 100);
  give(k, {bulks({"f1", "v1", "f2", "v2"}), integer(-1)});
  EXPECT_THAT(step(k), ElementsAre(args{"HPEXPIRETIME", "h", "FIELDS", "2", "f1", "f2"}));
  give(k, {array({integer(-1), integer(later)})});
  const auto commands = step(k);
  ASSERT_EQ(commands.size(), 5u);
  EXPECT_EQ(commands[3], (args{"HPEXPIREAT", "h", std::to_string(later), "FIELDS", "1", "f2"}));

  caps.target_field_ttls = false;
  auto old = make("h", value_type::hash, 100);
  give(old, {bulks({"f1", "v1"}), integer(-1)});
  give(old, {array({integer(later)})});
  EXPECT_EQ(old.outcome().end, rebuild_end::failed);
  EXPECT_THAT(old.outcome().detail, HasSubstr("field expiries"));
}

TEST_F(fixture, an_unknown_type_is_probed_and_a_module_type_fails_with_its_name) {
  auto k = make("x", value_type::unknown, 0);
  EXPECT_THAT(step(k), ElementsAre(args{"TYPE", "x"}));
  give(k, {status("list")});
  EXPECT_THAT(step(k)[0], (args{"LRANGE", "x", "0", "99"}));
  auto m = make("j", value_type::module, 50);
  EXPECT_THAT(step(m), ElementsAre(args{"TYPE", "j"}));
  give(m, {status("ReJSON-RL")});
  EXPECT_EQ(m.outcome().end, rebuild_end::failed);
  EXPECT_THAT(m.outcome().detail, HasSubstr("ReJSON-RL"));
}

TEST_F(fixture, a_type_change_under_the_copy_probes_again_and_asking_prefixes_each_command) {
  auto k = make("k", value_type::hash, 100);
  give(k,
       {error("WRONGTYPE Operation against a key holding the wrong kind of value"), integer(-1)});
  EXPECT_THAT(step(k), ElementsAre(args{"TYPE", "k"}));
  EXPECT_THAT(step(k, true), ElementsAre(args{"ASKING"}, args{"TYPE", "k"}));
}

TEST_F(fixture, a_surprise_on_the_target_starts_the_key_again_under_a_new_name) {
  auto k = make("l", value_type::list, 0);
  const std::string first = k.temp_key();
  give(k, {bulks({"a"}), integer(1)});
  ASSERT_EQ(k.side(), rebuild_side::target);
  k.start_again();
  EXPECT_EQ(k.side(), rebuild_side::source);
  EXPECT_NE(k.temp_key(), first);
  EXPECT_EQ(k.outcome().restarts, 1u);
  for (unsigned i = 0; i < sizes.max_attempts; ++i) k.broken();
  EXPECT_EQ(k.outcome().end, rebuild_end::fatal);
}

TEST_F(fixture, skipped_elements_shrink_the_chunk_and_a_lone_giant_fails) {
  sizes.max_element_bytes = 1000;
  auto k = make("l", value_type::list, 0);
  give(k, {array({bulk("a"), skipped(500)}), integer(2)});
  EXPECT_EQ(k.side(), rebuild_side::source);
  EXPECT_THAT(step(k)[0], (args{"LRANGE", "l", "0", "24"}));  // a quarter as many
  auto giant = make("l", value_type::list, 0);
  give(giant, {array({skipped(5000)}), integer(1)});
  EXPECT_EQ(giant.outcome().end, rebuild_end::failed);
  EXPECT_EQ(giant.outcome().error, protocol::errc::key_too_large);
  EXPECT_THAT(giant.outcome().detail, HasSubstr("5000 bytes"));
}

TEST_F(fixture, a_stream_keeps_its_ids_groups_consumers_and_pending_entries) {
  auto k = make("st", value_type::stream, 1000);
  const std::string temp = k.temp_key();
  EXPECT_THAT(step(k), ElementsAre(args{"XINFO", "STREAM", "st"}, args{"XINFO", "GROUPS", "st"}));
  reply meta = bulks({"length", "", "last-generated-id", "5-1", "max-deleted-entry-id", "3-0",
                      "entries-added", ""});
  meta.elements[1] = integer(2);  // XINFO gives counts as integers
  meta.elements[7] = integer(3);
  reply group = bulks({"name", "g", "last-delivered-id", "5-0", "entries-read", ""});
  group.elements[5] = integer(2);
  give(k, {meta, array({group})});
  EXPECT_THAT(step(k), ElementsAre(args{"XRANGE", "st", "-", "+", "COUNT", "100"}));
  give(k,
       {array({array({bulk("1-0"), bulks({"a", "1"})}), array({bulk("5-0"), bulks({"b", "2"})})})});
  EXPECT_THAT(step(k),
              ElementsAre(args{"XADD", temp, "1-0", "a", "1"}, args{"XADD", temp, "5-0", "b", "2"},
                          args{"PEXPIRE", temp, "300000"}));
  give(k, {bulk("1-0"), bulk("5-0"), integer(1)});
  EXPECT_THAT(step(k),
              ElementsAre(args{"XSETID", temp, "5-1", "ENTRIESADDED", "3", "MAXDELETEDID", "3-0"},
                          args{"XGROUP", "CREATE", temp, "g", "5-0", "ENTRIESREAD", "2"},
                          args{"PEXPIRE", temp, "300000"}));
  give(k, {status("OK"), status("OK"), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"XINFO", "CONSUMERS", "st", "g"},
                                   args{"XPENDING", "st", "g", "-", "+", "1000"}));
  give(k,
       {array({bulks({"name", "alice", "pending", "1"}), bulks({"name", "bob", "pending", "0"})}),
        array({array({bulk("1-0"), bulk("alice"), integer(250), integer(3)}),
               array({bulk("4-0"), bulk("alice"), integer(10), integer(1)})})});
  EXPECT_THAT(step(k), ElementsAre(args{"XGROUP", "CREATECONSUMER", temp, "g", "alice"},
                                   args{"XGROUP", "CREATECONSUMER", temp, "g", "bob"},
                                   args{"XCLAIM", temp, "g", "alice", "0", "1-0", "IDLE", "250",
                                        "RETRYCOUNT", "3", "FORCE", "JUSTID"},
                                   args{"XCLAIM", temp, "g", "alice", "0", "4-0", "IDLE", "10",
                                        "RETRYCOUNT", "1", "FORCE", "JUSTID"},
                                   args{"PEXPIRE", temp, "300000"}));
  // The entry 4-0 was deleted from the stream: its pending entry cannot come back.
  give(k, {integer(1), integer(1), bulks({"1-0"}), array({}), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"XLEN", "st"}, args{"PEXPIRETIME", "st"}));
  give(k, {integer(2), integer(-1)});
  step(k);
  give(k, {integer(2), status("OK"), status("QUEUED"), status("QUEUED"), status("QUEUED"),
           array({integer(0), integer(1), status("OK")})});
  EXPECT_EQ(k.outcome().end, rebuild_end::copied);
  EXPECT_EQ(k.outcome().lost_pending, 1u);
  EXPECT_FALSE(k.outcome().changed);
}

TEST_F(fixture, an_empty_stream_is_made_with_mkstream_and_old_targets_get_plain_xsetid) {
  caps.target_stream_v2 = false;
  caps.target_createconsumer = false;
  auto k = make("st", value_type::stream, 100);
  const std::string temp = k.temp_key();
  auto meta = bulks({"length", "0", "last-generated-id", "9-9"});
  meta.elements[1] = integer(0);
  give(k, {meta, array({})});
  EXPECT_THAT(step(k), ElementsAre(args{"XGROUP", "CREATE", temp, "ferry-new", "$", "MKSTREAM"},
                                   args{"XGROUP", "DESTROY", temp, "ferry-new"},
                                   args{"PEXPIRE", temp, "300000"}));
  give(k, {status("OK"), integer(1), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"XSETID", temp, "9-9"}, args{"PEXPIRE", temp, "300000"}));
  give(k, {status("OK"), integer(1)});
  EXPECT_THAT(step(k), ElementsAre(args{"XLEN", "st"}, args{"PEXPIRETIME", "st"}));
}

TEST(value_types, come_from_type_replies_and_payload_type_bytes) {
  EXPECT_EQ(type_from_reply("zset"), value_type::zset);
  EXPECT_EQ(type_from_reply("none"), value_type::none);
  EXPECT_EQ(type_from_reply("MBbloom--"), value_type::module);
  EXPECT_EQ(type_from_rdb(0), value_type::string);
  EXPECT_EQ(type_from_rdb(18), value_type::list);
  EXPECT_EQ(type_from_rdb(20), value_type::set);
  EXPECT_EQ(type_from_rdb(17), value_type::zset);
  EXPECT_EQ(type_from_rdb(25), value_type::hash);
  EXPECT_EQ(type_from_rdb(21), value_type::stream);
  EXPECT_EQ(type_from_rdb(7), value_type::module);
  EXPECT_EQ(type_from_rdb(26), value_type::unknown);
  EXPECT_TRUE(rdb_hash_with_field_ttls(24));
  EXPECT_FALSE(rdb_hash_with_field_ttls(16));
}

}  // namespace
}  // namespace ferry::engine
