#include "protocol/rdb/decode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <vector>

#include "protocol/rdb/detail/decode_context.hpp"
#include "protocol/rdb/detail/primitives.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::protocol::rdb {

std::string stream_id::text() const { return fmt::format("{}-{}", ms, seq); }

namespace {

using detail::as_count;
using detail::begin;
using detail::decode_stream;
using detail::decoder_context;
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
