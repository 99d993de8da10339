#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "protocol/rdb/detail/decode_context.hpp"
#include "protocol/rdb/detail/primitives.hpp"

namespace ferry::protocol::rdb::detail {
namespace {

stream_id read_stream_id(input& in) {
  stream_id id;
  id.ms = detail::read_length(in, "a stream id");
  id.seq = detail::read_length(in, "a stream id");
  return id;
}

struct pel_entry {
  stream_id id;
  std::int64_t delivery_time = 0;
  std::uint64_t delivery_count = 0;
  bool owned = false;
};

}  // namespace

generator<value_event> decode_stream(decoder_context& c) {
  const std::uint64_t nodes = detail::read_length(c.in, "a stream's node count");
  begin(c, value_kind::stream, -1);
  co_yield c.ev;
  std::vector<std::string> master_fields;
  std::vector<std::string> items;
  std::vector<std::string_view> views;
  std::optional<stream_id> first_seen;
  std::uint64_t live_total = 0;
  for (std::uint64_t node = 0; node < nodes; ++node) {
    const std::uint64_t key_at = c.in.offset();
    const std::string key = detail::read_string(c.in, 16, "a stream node key");
    if (key.size() != 16)
      fail(errc::bad_encoding, key_at,
           fmt::format("a stream node key at byte {} is {} bytes, not 16", key_at, key.size()));
    stream_id master;
    for (int i = 0; i < 8; ++i) master.ms = (master.ms << 8) | static_cast<unsigned char>(key[i]);
    for (int i = 8; i < 16; ++i)
      master.seq = (master.seq << 8) | static_cast<unsigned char>(key[i]);
    string_stream s(c.in);
    detail::listpack_reader r(s);
    const std::int64_t count = int_of(r, "entry count");
    const std::int64_t deleted = int_of(r, "deleted count");
    const std::int64_t nfields = int_of(r, "master field count");
    if (count < 0 || deleted < 0 || nfields < 0)
      fail(errc::bad_encoding, s.offset(), "negative counts in a stream node");
    master_fields.clear();
    std::size_t master_bytes = 0;
    for (std::int64_t i = 0; i < nfields; ++i) {
      if (!r.next())
        fail(errc::bad_encoding, s.offset(), "a stream node ends inside its master fields");
      std::string f;
      r.read_all(f, c.opts.max_whole_bytes);
      master_bytes += f.size();
      if (master_bytes > c.opts.max_whole_bytes)
        fail(errc::too_large, s.offset(),
             "a stream node's master fields are over the whole-item limit");
      master_fields.push_back(std::move(f));
    }
    if (int_of(r, "master terminator") != 0)
      fail(errc::bad_encoding, s.offset(), "a stream node's master entry has no zero terminator");
    std::int64_t live = 0;
    std::int64_t dead = 0;
    while (r.next()) {
      if (!r.is_int())
        fail(errc::bad_encoding, s.offset(), "a stream entry's flags are not an integer");
      const std::int64_t flags = r.number();
      const std::int64_t ms_diff = int_of(r, "entry id");
      const std::int64_t seq_diff = int_of(r, "entry id");
      const bool same = (flags & 2) != 0;
      std::int64_t nf = static_cast<std::int64_t>(master_fields.size());
      if (!same) nf = int_of(r, "entry field count");
      if (nf < 0) fail(errc::bad_encoding, s.offset(), "a negative stream entry field count");
      items.clear();
      std::size_t bytes = 0;
      for (std::int64_t f = 0; f < nf; ++f) {
        if (same) {
          items.push_back(master_fields[static_cast<std::size_t>(f)]);
        } else {
          if (!r.next())
            fail(errc::bad_encoding, s.offset(), "a stream entry ends inside its fields");
          items.emplace_back();
          r.read_all(items.back(), c.opts.max_whole_bytes);
        }
        if (!r.next())
          fail(errc::bad_encoding, s.offset(), "a stream entry ends inside its values");
        items.emplace_back();
        r.read_all(items.back(), c.opts.max_whole_bytes);
        bytes += items[items.size() - 2].size() + items.back().size();
        if (bytes > c.opts.max_whole_bytes)
          fail(errc::too_large, s.offset(),
               fmt::format("a stream entry near byte {} is over the whole-item limit of {} bytes",
                           s.offset(), c.opts.max_whole_bytes));
      }
      const std::int64_t lp_count = int_of(r, "entry back-count");
      const std::int64_t expect = nf + 3 + (same ? 0 : nf + 1);
      if (lp_count != expect)
        fail(errc::bad_encoding, s.offset(),
             "a stream entry's back-count does not match its fields");
      if (flags & 1) {
        ++dead;
        continue;
      }
      ++live;
      c.ev.type = event_type::stream_entry;
      c.ev.id.ms = master.ms + static_cast<std::uint64_t>(ms_diff);
      c.ev.id.seq = master.seq + static_cast<std::uint64_t>(seq_diff);
      if (!first_seen) first_seen = c.ev.id;
      views.assign(items.begin(), items.end());
      c.ev.fields = views;
      c.ev.data = {};
      co_yield c.ev;
    }
    if (live != count || dead != deleted) {
      fail(errc::bad_encoding, s.offset(),
           fmt::format("a stream node says {} entries and {} deleted, holds {} and {}", count,
                       deleted, live, dead));
    }
    live_total += static_cast<std::uint64_t>(live);
  }
  stream_meta_info meta;
  meta.length = detail::read_length(c.in, "a stream's length");
  meta.last_id = read_stream_id(c.in);
  if (c.type_id == type::stream_listpacks) {
    meta.first_id = first_seen.value_or(stream_id{});
    meta.entries_added = meta.length;
    meta.derived = true;
  } else {
    meta.first_id = read_stream_id(c.in);
    meta.max_deleted_id = read_stream_id(c.in);
    meta.entries_added = detail::read_length(c.in, "a stream's entries-added");
  }
  if (meta.length != live_total) {
    fail(errc::bad_encoding, c.in.offset(),
         fmt::format("a stream says {} entries but holds {}", meta.length, live_total));
  }
  meta.groups = detail::read_length(c.in, "a stream's group count");
  c.ev.type = event_type::stream_meta;
  c.ev.fields = {};
  c.ev.meta = meta;
  co_yield c.ev;
  std::vector<pel_entry> pel;
  std::string group_name;
  std::string consumer_name;
  for (std::uint64_t g = 0; g < meta.groups; ++g) {
    group_name = detail::read_string(c.in, c.opts.max_whole_bytes, "a consumer group name");
    stream_group_info group;
    group.last_delivered_id = read_stream_id(c.in);
    if (c.type_id != type::stream_listpacks) {
      group.entries_read =
          static_cast<std::int64_t>(detail::read_length(c.in, "a group's entries-read"));
    }
    const std::uint64_t at = c.in.offset();
    const std::uint64_t pel_size = detail::read_length(c.in, "a group's pending count");
    if (pel_size > c.opts.max_group_pending) {
      fail(errc::too_large, at,
           fmt::format("consumer group '{}' has {} pending entries, over the decoder's limit of {}",
                       group_name, pel_size, c.opts.max_group_pending));
    }
    pel.clear();
    for (std::uint64_t i = 0; i < pel_size; ++i) {
      pel_entry e;
      e.id.ms = detail::read_u64_be(c.in);
      e.id.seq = detail::read_u64_be(c.in);
      e.delivery_time = static_cast<std::int64_t>(detail::read_u64(c.in));
      e.delivery_count = detail::read_length(c.in, "a pending entry's delivery count");
      pel.push_back(e);
    }
    if (!std::is_sorted(pel.begin(), pel.end(),
                        [](const pel_entry& a, const pel_entry& b) { return a.id < b.id; })) {
      std::sort(pel.begin(), pel.end(),
                [](const pel_entry& a, const pel_entry& b) { return a.id < b.id; });
    }
    group.consumers = detail::read_length(c.in, "a group's consumer count");
    group.pending = pel_size;
    group.name = group_name;
    c.ev.type = event_type::stream_group;
    c.ev.group = group;
    co_yield c.ev;
    for (std::uint64_t k = 0; k < group.consumers; ++k) {
      consumer_name = detail::read_string(c.in, c.opts.max_whole_bytes, "a consumer name");
      stream_consumer_info consumer;
      consumer.name = consumer_name;
      consumer.seen_time_ms = static_cast<std::int64_t>(detail::read_u64(c.in));
      consumer.active_time_ms = c.type_id == type::stream_listpacks_3
                                    ? static_cast<std::int64_t>(detail::read_u64(c.in))
                                    : consumer.seen_time_ms;
      consumer.pending = detail::read_length(c.in, "a consumer's pending count");
      c.ev.type = event_type::stream_consumer;
      c.ev.consumer = consumer;
      c.ev.group.name = group_name;
      co_yield c.ev;
      for (std::uint64_t p = 0; p < consumer.pending; ++p) {
        const std::uint64_t id_at = c.in.offset();
        stream_id id;
        id.ms = detail::read_u64_be(c.in);
        id.seq = detail::read_u64_be(c.in);
        auto it = std::lower_bound(pel.begin(), pel.end(), id,
                                   [](const pel_entry& a, const stream_id& b) { return a.id < b; });
        if (it == pel.end() || it->id != id || it->owned) {
          fail(errc::bad_encoding, id_at,
               fmt::format("consumer '{}' of group '{}' claims pending entry {} that the group's "
                           "PEL does not hold (or another consumer owns)",
                           consumer_name, group_name, id.text()));
        }
        it->owned = true;
        c.ev.type = event_type::stream_pending;
        c.ev.pending =
            stream_pending_info{id, consumer_name, it->delivery_time, it->delivery_count};
        co_yield c.ev;
      }
    }
    for (const pel_entry& e : pel) {
      if (e.owned) continue;
      c.ev.type = event_type::stream_pending;
      c.ev.pending = stream_pending_info{e.id, {}, e.delivery_time, e.delivery_count};
      co_yield c.ev;
    }
  }
}

std::int64_t int_of(element_reader& r, const char* what) {
  if (!r.next())
    fail(errc::bad_encoding, r.offset(), fmt::format("a stream listpack ends before its {}", what));
  if (r.is_int()) return r.number();
  std::string text;
  r.read_all(text, 32);
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || end != text.c_str() + text.size()) {
    fail(errc::bad_encoding, r.offset(),
         fmt::format("stream {} '{}' is not an integer", what, text));
  }
  return v;
}

}  // namespace ferry::protocol::rdb::detail
