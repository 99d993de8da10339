#include "protocol/rdb/decode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <vector>

#include "protocol/rdb/detail/blobs.hpp"
#include "protocol/rdb/detail/generator.hpp"
#include "protocol/rdb/detail/input.hpp"
#include "protocol/rdb/detail/primitives.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/source.hpp"

// Yields the bytes of the current item of `src` (anything with `read_some`) as events of type
// `kind` in pieces of at most `opts.piece_bytes`; an empty item is one event with no bytes.
#define FERRY_RDB_YIELD_PIECES(ev, src, total, kind, buf, opts)                           \
  do {                                                                                    \
    (ev).type = (kind);                                                                   \
    (ev).item_size = (total);                                                             \
    (ev).piece_offset = 0;                                                                \
    (buf).resize(static_cast<std::size_t>(                                                \
        std::min<std::uint64_t>((total), std::max<std::size_t>((opts).piece_bytes, 1)))); \
    do {                                                                                  \
      const std::size_t n_ = (src).read_some((buf).data(), (buf).size());                 \
      (ev).data = std::string_view((buf).data(), n_);                                     \
      co_yield (ev);                                                                      \
      (ev).piece_offset += n_;                                                            \
      if (n_ == 0) break;                                                                 \
    } while ((ev).piece_offset < (total));                                                \
  } while (false)

namespace ferry::protocol::rdb {

std::string stream_id::text() const { return fmt::format("{}-{}", ms, seq); }

namespace {

using detail::element_reader;
using detail::fail;
using detail::generator;
using detail::input;
using detail::string_stream;

// Integer-or-text element of a ziplist/listpack as a score (Redis stores integral scores as
// integers and others as their "%.17g" text, "inf" and "-inf" included).
double score_of(element_reader& r, std::size_t limit) {
  if (r.is_int()) return static_cast<double>(r.number());
  std::string text;
  r.read_all(text, std::min<std::size_t>(limit, 256));
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || std::isnan(v)) {
    fail(errc::bad_encoding, r.offset(),
         fmt::format("zset score '{}' near byte {} is not a number", text, r.offset()));
  }
  return v;
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

std::unique_ptr<element_reader> open_blob(std::uint8_t type_id, string_stream& s) {
  switch (type_id) {
    case type::hash_zipmap:
      return std::make_unique<detail::zipmap_reader>(s);
    case type::list_ziplist:
    case type::zset_ziplist:
    case type::hash_ziplist:
    case type::list_quicklist:
      return std::make_unique<detail::ziplist_reader>(s);
    case type::set_intset:
      return std::make_unique<detail::intset_reader>(s);
    default:
      return std::make_unique<detail::listpack_reader>(s);
  }
}

struct decoder_context {
  input& in;
  std::uint8_t type_id;
  std::uint16_t version;
  decode_options opts;
  value_event ev;
  std::string buf;
  std::string whole;
};

void begin(decoder_context& c, value_kind kind, std::int64_t count) {
  c.ev = value_event{};
  c.ev.type = event_type::begin;
  c.ev.kind = kind;
  c.ev.type_id = c.type_id;
  c.ev.count = count;
}

std::int64_t as_count(std::uint64_t n) {
  return n > static_cast<std::uint64_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(n);
}

generator<value_event> decode_plain_elements(decoder_context& c, value_kind kind) {
  const std::uint64_t n = detail::read_length(c.in, "a list or set");
  begin(c, kind, as_count(n));
  co_yield c.ev;
  for (std::uint64_t i = 0; i < n; ++i) {
    string_stream s(c.in);
    FERRY_RDB_YIELD_PIECES(c.ev, s, s.size(), event_type::element, c.buf, c.opts);
  }
}

generator<value_event> decode_plain_zset(decoder_context& c) {
  const std::uint64_t n = detail::read_length(c.in, "a zset");
  begin(c, value_kind::zset, as_count(n));
  co_yield c.ev;
  for (std::uint64_t i = 0; i < n; ++i) {
    c.whole = detail::read_string(c.in, c.opts.max_whole_bytes, "a zset member");
    const std::uint64_t at = c.in.offset();
    const double score = c.type_id == type::zset_2 ? detail::read_binary_double(c.in)
                                                   : detail::read_text_double(c.in);
    if (std::isnan(score))
      fail(errc::bad_encoding, at, fmt::format("a zset score at byte {} is NaN", at));
    c.ev.type = event_type::zset_member;
    c.ev.data = c.whole;
    c.ev.item_size = c.whole.size();
    c.ev.piece_offset = 0;
    c.ev.score = score;
    co_yield c.ev;
  }
}

// Plain hashes: 4 (field, value), 22/24 of Redis (ttl, field, value; 24 after a min-expiry),
// 22 of Valkey 9 (field, value, 8-byte expiry).
generator<value_event> decode_plain_hash(decoder_context& c) {
  const bool valkey_hash_2 =
      c.type_id == type::valkey_hash_2 && flavor_of(c.version) == flavor::valkey;
  const bool redis_ttl = !valkey_hash_2 && (c.type_id == type::hash_metadata ||
                                            c.type_id == type::hash_metadata_pre_ga);
  std::uint64_t min_expire = 0;
  if (c.type_id == type::hash_metadata && !valkey_hash_2) min_expire = detail::read_u64(c.in);
  const std::uint64_t n = detail::read_length(c.in, "a hash");
  begin(c, value_kind::hash, as_count(n));
  co_yield c.ev;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::int64_t expire = 0;
    if (redis_ttl) {
      const std::uint64_t ttl = detail::read_length(c.in, "a hash field TTL");
      if (c.type_id == type::hash_metadata) {
        expire = ttl == 0 ? 0 : static_cast<std::int64_t>(ttl + min_expire - 1);
      } else {
        expire = static_cast<std::int64_t>(ttl);
      }
    }
    c.whole = detail::read_string(c.in, c.opts.max_whole_bytes, "a hash field");
    c.ev.type = event_type::hash_field;
    c.ev.data = c.whole;
    c.ev.item_size = c.whole.size();
    c.ev.piece_offset = 0;
    co_yield c.ev;
    {
      string_stream s(c.in);
      FERRY_RDB_YIELD_PIECES(c.ev, s, s.size(), event_type::hash_value, c.buf, c.opts);
    }
    if (valkey_hash_2) {
      const auto raw = static_cast<std::int64_t>(detail::read_u64(c.in));
      expire = raw < 0 ? 0 : raw;
    }
    if (redis_ttl || valkey_hash_2) {
      c.ev.type = event_type::hash_field_expiry;
      c.ev.data = {};
      c.ev.expire_ms = expire;
      co_yield c.ev;
    }
  }
}

// Blob encodings: one RDB string holding a ziplist, listpack, intset or zipmap.
generator<value_event> decode_blob(decoder_context& c) {
  std::uint8_t id = c.type_id;
  if (id == type::hash_listpack_ex) detail::read_u64(c.in);  // min expiry, redundant
  string_stream s(c.in);
  std::unique_ptr<element_reader> r = open_blob(id, s);
  const auto info = describe_type(id, c.version);
  const value_kind kind = info->kind;
  const bool ttl = id == type::hash_listpack_ex || id == type::hash_listpack_ex_pre_ga;
  const std::int64_t per = kind == value_kind::hash   ? (ttl ? 3 : 2)
                           : kind == value_kind::zset ? 2
                                                      : 1;
  std::int64_t count = r->declared_count();
  if (id != type::hash_zipmap && count >= 0) {  // a zipmap counts pairs already
    if (count % per != 0)
      fail(errc::bad_encoding, s.offset(), "a blob's element count does not fit its type");
    count /= per;
  }
  begin(c, kind, count);
  co_yield c.ev;
  while (r->next()) {
    switch (kind) {
      case value_kind::list:
      case value_kind::set:
        FERRY_RDB_YIELD_PIECES(c.ev, *r, r->length(), event_type::element, c.buf, c.opts);
        break;
      case value_kind::zset: {
        r->read_all(c.whole, c.opts.max_whole_bytes);
        if (!r->next())
          fail(errc::bad_encoding, s.offset(), "a zset blob ends after a member without a score");
        c.ev.score = score_of(*r, c.opts.max_whole_bytes);
        c.ev.type = event_type::zset_member;
        c.ev.data = c.whole;
        c.ev.item_size = c.whole.size();
        c.ev.piece_offset = 0;
        co_yield c.ev;
        break;
      }
      case value_kind::hash: {
        r->read_all(c.whole, c.opts.max_whole_bytes);
        c.ev.type = event_type::hash_field;
        c.ev.data = c.whole;
        c.ev.item_size = c.whole.size();
        c.ev.piece_offset = 0;
        co_yield c.ev;
        if (!r->next())
          fail(errc::bad_encoding, s.offset(), "a hash blob ends after a field without a value");
        FERRY_RDB_YIELD_PIECES(c.ev, *r, r->length(), event_type::hash_value, c.buf, c.opts);
        if (ttl) {
          if (!r->next())
            fail(errc::bad_encoding, s.offset(), "a hash blob ends before a field's TTL");
          if (!r->is_int())
            fail(errc::bad_encoding, s.offset(), "a hash field TTL is not an integer");
          c.ev.type = event_type::hash_field_expiry;
          c.ev.data = {};
          c.ev.expire_ms = r->number() < 0 ? 0 : r->number();
          co_yield c.ev;
        }
        break;
      }
      default:
        fail(errc::unknown_type, s.offset(), "unexpected blob type");
    }
  }
}

generator<value_event> decode_quicklist(decoder_context& c) {
  const std::uint64_t nodes = detail::read_length(c.in, "a quicklist");
  begin(c, value_kind::list, -1);
  co_yield c.ev;
  for (std::uint64_t i = 0; i < nodes; ++i) {
    std::uint64_t container = 2;  // packed
    if (c.type_id == type::list_quicklist_2) {
      const std::uint64_t at = c.in.offset();
      container = detail::read_length(c.in, "a quicklist node container");
      if (container != 1 && container != 2) {
        fail(errc::bad_encoding, at,
             fmt::format(
                 "quicklist node container {} at byte {} is neither plain (1) nor packed (2)",
                 container, at));
      }
    }
    string_stream s(c.in);
    if (s.size() == 0) fail(errc::bad_encoding, s.offset(), "an empty quicklist node");
    if (container == 1) {
      FERRY_RDB_YIELD_PIECES(c.ev, s, s.size(), event_type::element, c.buf, c.opts);
      continue;
    }
    std::unique_ptr<element_reader> r;
    if (c.type_id == type::list_quicklist) {
      r = std::make_unique<detail::ziplist_reader>(s);
    } else {
      r = std::make_unique<detail::listpack_reader>(s);
    }
    while (r->next()) {
      FERRY_RDB_YIELD_PIECES(c.ev, *r, r->length(), event_type::element, c.buf, c.opts);
    }
  }
}

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

generator<value_event> decode_any(decoder_context& c) {
  const std::uint64_t at = c.in.offset();
  const auto info = describe_type(c.type_id, c.version);
  if (!info) {
    fail(errc::unknown_type, at,
         fmt::format("type id {} is unknown in RDB version {} ({})", c.type_id, c.version,
                     servers_of_version(c.version)));
  }
  generator<value_event> inner;
  switch (c.type_id) {
    case type::string: {
      string_stream s(c.in);
      begin(c, value_kind::string, -1);
      co_yield c.ev;
      FERRY_RDB_YIELD_PIECES(c.ev, s, s.size(), event_type::string_piece, c.buf, c.opts);
      break;
    }
    case type::list:
      inner = decode_plain_elements(c, value_kind::list);
      break;
    case type::set:
      inner = decode_plain_elements(c, value_kind::set);
      break;
    case type::zset:
    case type::zset_2:
      inner = decode_plain_zset(c);
      break;
    case type::hash:
    case type::hash_metadata:
    case type::hash_metadata_pre_ga:  // also Valkey's HASH_2
      inner = decode_plain_hash(c);
      break;
    case type::list_quicklist:
    case type::list_quicklist_2:
      inner = decode_quicklist(c);
      break;
    case type::stream_listpacks:
    case type::stream_listpacks_2:
    case type::stream_listpacks_3:
      inner = decode_stream(c);
      break;
    case type::module_2: {
      const std::uint64_t id = detail::read_length(c.in, "a module id");
      fail(errc::not_decodable, at,
           fmt::format(
               "a value of module type '{}' (encoding version {}) cannot be decoded without its "
               "module; it can only be copied by RESTORE to a server that loads that module",
               module_name(id), module_encver(id)));
    }
    case type::module_pre_ga:
      fail(errc::not_decodable, at,
           "a module value of a Redis 4.0 release candidate (type 6) cannot be read");
    default:
      inner = decode_blob(c);
      break;
  }
  for (const value_event* e = inner.next(); e != nullptr; e = inner.next()) co_yield *e;
  c.ev = value_event{};
  c.ev.type = event_type::end;
  c.ev.kind = info->kind;
  c.ev.type_id = c.type_id;
  co_yield c.ev;
}

}  // namespace

struct value_decoder::state {
  std::unique_ptr<memory_source> source;
  std::unique_ptr<input> owned_input;
  std::unique_ptr<decoder_context> context;
  generator<value_event> events;
  bool check_end = false;
  bool finished = false;
};

value_decoder::value_decoder(std::unique_ptr<state> s) : state_(std::move(s)) {}
value_decoder::value_decoder(value_decoder&&) noexcept = default;
value_decoder& value_decoder::operator=(value_decoder&&) noexcept = default;
value_decoder::~value_decoder() = default;

result<value_decoder> value_decoder::from_payload(std::string_view payload,
                                                  decode_options options) {
  auto parsed = parse_payload(payload);
  if (!parsed) return parsed.error();
  auto s = std::make_unique<state>();
  s->source = std::make_unique<memory_source>(parsed->value);
  s->owned_input = std::make_unique<input>(*s->source, 1, 16 * 1024);
  s->context = std::make_unique<decoder_context>(
      decoder_context{*s->owned_input, parsed->type_id, parsed->version, options, {}, {}, {}});
  s->events = decode_any(*s->context);
  s->check_end = true;
  return value_decoder(std::move(s));
}

result<value_decoder> value_decoder::from_payload(std::string&& payload, decode_options options) {
  auto owned = std::make_unique<std::string>(std::move(payload));
  auto d = from_payload(std::string_view(*owned), options);
  if (!d) return d.error();
  // The decoder's views point into *owned: keep that allocation (not a moved copy) alive.
  d->owner_ = std::move(owned);
  return d;
}

value_decoder value_decoder::from_input(detail::input& in, std::uint8_t type_id,
                                        std::uint16_t version, decode_options options) {
  auto s = std::make_unique<state>();
  s->context =
      std::make_unique<decoder_context>(decoder_context{in, type_id, version, options, {}, {}, {}});
  s->events = decode_any(*s->context);
  return value_decoder(std::move(s));
}

result<const value_event*> value_decoder::next() {
  if (!state_ || state_->finished) return static_cast<const value_event*>(nullptr);
  try {
    const value_event* e = state_->events.next();
    if (e != nullptr && e->type == event_type::end && state_->check_end &&
        !state_->context->in.at_end()) {
      detail::fail(errc::bad_encoding, state_->context->in.offset(),
                   fmt::format("the DUMP payload has bytes left after its value, at byte {}",
                               state_->context->in.offset()));
    }
    if (e == nullptr) state_->finished = true;
    return e;
  } catch (const detail::parse_error& err) {
    state_->finished = true;
    state_->events.reset();
    return err.get();
  } catch (const detail::capture_overflow&) {
    state_->finished = true;
    state_->events.reset();
    return error{errc::bad_encoding, 0, "internal: a capture overflow reached the decoder"};
  }
}

result<void> value_decoder::skip_rest() {
  for (;;) {
    auto e = next();
    if (!e) return e.error();
    if (*e == nullptr) return {};
  }
}

}  // namespace ferry::protocol::rdb
