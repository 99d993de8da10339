#include "engine/verify/deep_compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <optional>

#include "engine/verify/verdict.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::command_buffer;
using protocol::reply;

namespace detail {

asio::awaitable<outcome> deep_session::both(std::size_t ns, const key_encoder& on_source,
                                            std::size_t nt, const key_encoder& on_target) {
  using namespace asio::experimental::awaitable_operators;
  auto [a, b] = co_await (source.run_one(key, ns, on_source, from_source) &&
                          target.run_one(key, nt, on_target, from_target));
  if (!a) co_return a;
  co_return b;
}

asio::awaitable<outcome> deep_session::one(routed_side& side, std::size_t n,
                                           const key_encoder& encode,
                                           std::vector<protocol::reply>& replies) {
  co_return co_await side.run_one(key, n, encode, replies);
}

void deep_session::adapt(std::size_t elements, std::size_t bytes) {
  if (elements == 0) return;
  const std::size_t per = std::max<std::size_t>(bytes / elements, 1);
  const std::size_t wanted =
      std::clamp<std::size_t>(options.chunk_bytes / per, 1, options.max_chunk_elements);
  // Shrink at once (big elements ahead), grow gently.
  chunk = wanted < chunk ? wanted : std::min(wanted, chunk * 2);
}

std::size_t reply_bytes(const reply& r) noexcept {
  std::size_t total = r.str.size();
  for (const reply& e : r.elements) total += reply_bytes(e);
  return total;
}

std::string next_stream_id(std::string_view id) {
  const auto dash = id.find('-');
  const auto ms = std::string(id.substr(0, dash));
  const std::uint64_t seq =
      dash == std::string_view::npos ? 0 : std::stoull(std::string(id.substr(dash + 1)));
  if (seq == UINT64_MAX) return fmt::format("{}-0", std::stoull(ms) + 1);
  return fmt::format("{}-{}", ms, seq + 1);
}

deep_result changed_while_compared() {
  return {false, "the key changed type or vanished while it was compared"};
}

}  // namespace detail

namespace {

using detail::deep_session;

deep_result differs(std::string detail) { return {false, std::move(detail)}; }

/// What to return when `r` is an error reply: WRONGTYPE means the key changed under us; any
/// other refusal stops the job (the user must allow the command).
std::optional<maybe<deep_result>> trouble(const reply& r, const routed_side& side,
                                          std::string_view command) {
  if (!r.is_error()) return std::nullopt;
  const auto kind = protocol::classify_error_reply(r.text());
  if (kind == protocol::errc::wrong_type)
    return maybe<deep_result>(detail::changed_while_compared());
  return maybe<deep_result>(fail_with(
      kind, fmt::format("the {} refused {} while comparing values: {}; allow it for ferry's user",
                        side.role(), command, r.text())));
}

/// A key-only command such as "HLEN key".
key_encoder simple(std::string_view name, const protocol::bytes& key) {
  return [name, &key](std::size_t, command_buffer& c) {
    c.begin(2);
    c.arg(name);
    c.arg_ref(key);
  };
}

/// Compares the count both sides report; a result to return when they differ.
asio::awaitable<std::optional<maybe<deep_result>>> compare_counts(deep_session& s,
                                                                  std::string_view command,
                                                                  std::string_view unit,
                                                                  std::int64_t& count) {
  const key_encoder encode = simple(command, s.key);
  if (auto done = co_await s.both(1, encode, 1, encode); !done) co_return done.error();
  if (auto stop = trouble(s.from_source[0], s.source, command)) co_return stop;
  if (auto stop = trouble(s.from_target[0], s.target, command)) co_return stop;
  count = s.from_source[0].integer;
  if (count != s.from_target[0].integer) {
    co_return differs(fmt::format("{} vs {} {}", count, s.from_target[0].integer, unit));
  }
  co_return std::nullopt;
}

asio::awaitable<maybe<deep_result>> compare_string(deep_session& s) {
  std::int64_t length = 0;
  if (auto stop = co_await compare_counts(s, "STRLEN", "bytes", length)) co_return *stop;
  const auto slice = static_cast<std::int64_t>(std::max<std::size_t>(s.options.chunk_bytes, 1));
  for (std::int64_t at = 0; at < length; at += slice) {
    const key_encoder encode = [&](std::size_t, command_buffer& c) {
      c.begin(4);
      c.arg("GETRANGE");
      c.arg_ref(s.key);
      c.arg(at);
      c.arg(at + slice - 1);
    };
    if (auto done = co_await s.both(1, encode, 1, encode); !done) co_return done.error();
    if (auto stop = trouble(s.from_source[0], s.source, "GETRANGE")) co_return *stop;
    if (auto stop = trouble(s.from_target[0], s.target, "GETRANGE")) co_return *stop;
    const std::string_view a = s.from_source[0].text(), b = s.from_target[0].text();
    if (a != b) {
      const auto first = std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first - a.begin();
      co_return differs(fmt::format("bytes differ from offset {}", at + first));
    }
  }
  co_return deep_result{};
}

asio::awaitable<maybe<deep_result>> compare_list(deep_session& s) {
  std::int64_t length = 0;
  if (auto stop = co_await compare_counts(s, "LLEN", "elements", length)) co_return *stop;
  for (std::int64_t at = 0; at < length;) {
    const auto n = static_cast<std::int64_t>(s.chunk);
    const key_encoder encode = [&](std::size_t, command_buffer& c) {
      c.begin(4);
      c.arg("LRANGE");
      c.arg_ref(s.key);
      c.arg(at);
      c.arg(at + n - 1);
    };
    if (auto done = co_await s.both(1, encode, 1, encode); !done) co_return done.error();
    if (auto stop = trouble(s.from_source[0], s.source, "LRANGE")) co_return *stop;
    if (auto stop = trouble(s.from_target[0], s.target, "LRANGE")) co_return *stop;
    const auto& a = s.from_source[0].elements;
    const auto& b = s.from_target[0].elements;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i].str != b[i].str) {
        co_return differs(fmt::format("element {} differs", at + static_cast<std::int64_t>(i)));
      }
    }
    if (a.size() != b.size() || a.empty()) co_return detail::changed_while_compared();
    s.adapt(a.size(), detail::reply_bytes(s.from_source[0]));
    at += static_cast<std::int64_t>(a.size());
  }
  co_return deep_result{};
}

/// HSCAN, SSCAN or ZSCAN of the source, one chunk: fills `cursor` and returns the items.
asio::awaitable<maybe<std::vector<reply>*>> scan_source(deep_session& s, std::string_view command,
                                                        std::string& cursor) {
  const key_encoder encode = [&](std::size_t, command_buffer& c) {
    c.begin(5);
    c.arg(command);
    c.arg_ref(s.key);
    c.arg(cursor);
    c.arg("COUNT");
    c.arg(static_cast<std::int64_t>(s.chunk));
  };
  if (auto done = co_await s.one(s.source, 1, encode, s.from_source); !done) co_return done.error();
  const reply& r = s.from_source[0];
  if (r.is_error() || r.elements.size() != 2) co_return nullptr;
  cursor = r.elements[0].str.str();
  co_return &s.from_source[0].elements[1].elements;
}

/// The absolute expiries (Unix ms, -1 for none) of `fields` fields of a hash, the names at even
/// positions of `pairs`, on the sides that hold field expiries (a side without them has none).
/// Copies the names first: the source's HSCAN reply is overwritten by the exchange.
asio::awaitable<maybe<deep_result>> compare_field_ttls(deep_session& s,
                                                       const std::vector<reply>& pairs,
                                                       std::size_t fields) {
  if (!s.options.source_field_ttls && !s.options.target_field_ttls) co_return deep_result{};
  std::vector<protocol::bytes> names;
  names.reserve(fields);
  for (std::size_t i = 0; i < fields; ++i)
    names.push_back(protocol::bytes::copy_of(pairs[2 * i].text()));
  const key_encoder ask = [&](std::size_t, command_buffer& c) {
    c.begin(4 + fields);
    c.arg("HPEXPIRETIME");
    c.arg_ref(s.key);
    c.arg("FIELDS");
    c.arg(static_cast<std::int64_t>(fields));
    for (const auto& name : names) c.arg_ref(name);
  };
  const bool on_source = s.options.source_field_ttls, on_target = s.options.target_field_ttls;
  const outcome done = on_source && on_target
                           ? co_await s.both(1, ask, 1, ask)
                           : co_await s.one(on_source ? s.source : s.target, 1, ask,
                                            on_source ? s.from_source : s.from_target);
  if (!done) co_return done.error();
  if (on_source) {
    if (auto stop = trouble(s.from_source[0], s.source, "HPEXPIRETIME")) co_return *stop;
  }
  if (on_target) {
    if (auto stop = trouble(s.from_target[0], s.target, "HPEXPIRETIME")) co_return *stop;
  }
  const auto at = [&](bool holds, const std::vector<reply>& replies, std::size_t i) {
    if (!holds) return std::int64_t{-1};
    const auto& e = replies[0].elements;
    return i < e.size() ? e[i].integer : std::int64_t{-2};
  };
  for (std::size_t i = 0; i < fields; ++i) {
    const std::int64_t a = at(on_source, s.from_source, i), b = at(on_target, s.from_target, i);
    if (a == -2 || b == -2) co_return detail::changed_while_compared();
    if (!expiry_differs(a, b, s.options.ttl_tolerance_ms)) continue;
    const std::string field = short_text(names[i].view());
    if (b == -1 && !on_target) {
      co_return differs(fmt::format(
          "field \"{}\" expires at {} on the source; the target cannot hold field expiries "
          "(Redis 7.4 or later can)",
          field, utc_time(a)));
    }
    const auto when = [](std::int64_t t) { return t < 0 ? std::string("never") : utc_time(t); };
    co_return differs(fmt::format("field \"{}\" expires {} on the source, {} on the target", field,
                                  when(a), when(b)));
  }
  co_return deep_result{};
}

asio::awaitable<maybe<deep_result>> compare_hash(deep_session& s) {
  std::int64_t count = 0;
  if (auto stop = co_await compare_counts(s, "HLEN", "fields", count)) co_return *stop;
  std::string cursor = "0";
  do {
    auto items = co_await scan_source(s, "HSCAN", cursor);
    if (!items) co_return items.error();
    if (*items == nullptr) {
      if (auto stop = trouble(s.from_source[0], s.source, "HSCAN")) co_return *stop;
      co_return detail::changed_while_compared();
    }
    const auto& pairs = **items;
    const std::size_t fields = pairs.size() / 2;
    if (fields == 0) continue;
    const key_encoder lookup = [&](std::size_t, command_buffer& c) {
      c.begin(2 + fields);
      c.arg("HMGET");
      c.arg_ref(s.key);
      for (std::size_t i = 0; i < fields; ++i) c.arg_ref(pairs[2 * i].str);
    };
    if (auto done = co_await s.one(s.target, 1, lookup, s.from_target); !done) {
      co_return done.error();
    }
    if (auto stop = trouble(s.from_target[0], s.target, "HMGET")) co_return *stop;
    const auto& values = s.from_target[0].elements;
    if (values.size() != fields) co_return detail::changed_while_compared();
    for (std::size_t i = 0; i < fields; ++i) {
      const std::string field = short_text(pairs[2 * i].text());
      if (values[i].is_nil())
        co_return differs(fmt::format("field \"{}\" missing on the target", field));
      if (values[i].str != pairs[2 * i + 1].str)
        co_return differs(fmt::format("field \"{}\" differs", field));
    }
    s.adapt(fields, detail::reply_bytes(s.from_source[0]));
    // Last: it reads both sides again, which replaces the replies `pairs` points into.
    if (auto d = co_await compare_field_ttls(s, pairs, fields); !d || !d->equal) co_return d;
  } while (cursor != "0");
  co_return deep_result{};
}

/// Sets and sorted sets: SSCAN/ZSCAN the source, SISMEMBER/ZSCORE every member on the target.
asio::awaitable<maybe<deep_result>> compare_members(deep_session& s, bool scored) {
  std::int64_t count = 0;
  if (auto stop = co_await compare_counts(s, scored ? "ZCARD" : "SCARD", "members", count)) {
    co_return *stop;
  }
  const std::string_view scan = scored ? "ZSCAN" : "SSCAN";
  const std::string_view lookup_name = scored ? "ZSCORE" : "SISMEMBER";
  const std::size_t stride = scored ? 2 : 1;
  std::string cursor = "0";
  do {
    auto items = co_await scan_source(s, scan, cursor);
    if (!items) co_return items.error();
    if (*items == nullptr) {
      if (auto stop = trouble(s.from_source[0], s.source, scan)) co_return *stop;
      co_return detail::changed_while_compared();
    }
    const auto& found = **items;
    const std::size_t members = found.size() / stride;
    if (members == 0) continue;
    const key_encoder lookup = [&](std::size_t, command_buffer& c) {
      for (std::size_t i = 0; i < members; ++i) {
        c.begin(3);
        c.arg(lookup_name);
        c.arg_ref(s.key);
        c.arg_ref(found[stride * i].str);
      }
    };
    if (auto done = co_await s.one(s.target, members, lookup, s.from_target); !done) {
      co_return done.error();
    }
    for (std::size_t i = 0; i < members; ++i) {
      const reply& answer = s.from_target[i];
      if (auto stop = trouble(answer, s.target, lookup_name)) co_return *stop;
      const std::string member = short_text(found[stride * i].text());
      const bool present = scored ? !answer.is_nil() : answer.integer == 1;
      if (!present) co_return differs(fmt::format("member \"{}\" missing on the target", member));
      if (scored && !same_score(found[2 * i + 1].text(), answer.text())) {
        co_return differs(fmt::format("member \"{}\": score {} vs {}", member,
                                      found[2 * i + 1].text(), answer.text()));
      }
    }
    s.adapt(members, detail::reply_bytes(s.from_source[0]));
  } while (cursor != "0");
  co_return deep_result{};
}

}  // namespace

asio::awaitable<maybe<deep_result>> deep_compare(routed_side& source, routed_side& target,
                                                 const protocol::bytes& key,
                                                 const std::string& type,
                                                 const deep_options& options) {
  deep_session s{
      source, target, key, options, {}, {}, std::min<std::size_t>(100, options.max_chunk_elements)};
  if (type == "string") co_return co_await compare_string(s);
  if (type == "list") co_return co_await compare_list(s);
  if (type == "hash") co_return co_await compare_hash(s);
  if (type == "set") co_return co_await compare_members(s, false);
  if (type == "zset") co_return co_await compare_members(s, true);
  if (type == "stream") co_return co_await detail::compare_stream(s);
  // A module type: only its serialisation can be compared, and it differs.
  co_return differs(
      fmt::format("{} values serialise differently (no type-aware comparison for "
                  "this type)",
                  type));
}

}  // namespace ferry::engine
