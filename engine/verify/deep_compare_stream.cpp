// The stream part of the deep comparison: metadata, entries, consumer groups, consumers and
// pending entries. Idle and delivery times are left out: they differ between two servers
// holding the same stream (reading XINFO or claiming changes them, copying does not).

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "engine/verify/deep_compare.hpp"
#include "engine/verify/verdict.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine::detail {

namespace asio = boost::asio;
using protocol::command_buffer;
using protocol::reply;

namespace {

deep_result stream_differs(std::string detail) { return {false, std::move(detail)}; }

/// XINFO's flat [name, value, ...] arrays as a map (values point into the reply).
std::map<std::string_view, const reply*> fields_of(const reply& flat) {
  std::map<std::string_view, const reply*> out;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    out[flat.elements[i].text()] = &flat.elements[i + 1];
  }
  return out;
}

std::string scalar_text(const reply& r) {
  if (r.kind == protocol::reply_kind::integer) return std::to_string(r.integer);
  if (r.is_nil()) return "nil";
  return short_text(r.text());
}

/// The first of `names` whose value both maps hold and that differs, described.
std::optional<std::string> first_difference(const std::map<std::string_view, const reply*>& a,
                                            const std::map<std::string_view, const reply*>& b,
                                            std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    const auto x = a.find(name), y = b.find(name);
    if (x == a.end() || y == b.end()) continue;  // older servers report fewer fields
    if (!(*x->second == *y->second)) {
      return fmt::format("{} {} vs {}", name, scalar_text(*x->second), scalar_text(*y->second));
    }
  }
  return std::nullopt;
}

std::optional<maybe<deep_result>> trouble(const deep_session& s, std::string_view command) {
  for (const auto* side : {&s.from_source, &s.from_target}) {
    for (const reply& r : *side) {
      if (!r.is_error()) continue;
      const auto kind = protocol::classify_error_reply(r.text());
      // WRONGTYPE, or "no such key" from XINFO: the stream changed under us.
      if (kind == protocol::errc::wrong_type ||
          r.text().find("no such key") != std::string_view::npos ||
          r.text().find("NOGROUP") != std::string_view::npos) {
        return maybe<deep_result>(changed_while_compared());
      }
      return maybe<deep_result>(
          fail_with(kind, fmt::format("the {} refused {} while comparing streams: {}; allow it for "
                                      "ferry's user",
                                      side == &s.from_source ? s.source.role() : s.target.role(),
                                      command, r.text())));
    }
  }
  return std::nullopt;
}

/// Walks a range command (XRANGE or XPENDING) in chunks on both sides and compares what
/// `same` says must agree; `what` names an item in messages.
template <class Same>
asio::awaitable<maybe<deep_result>> compare_ranges(deep_session& s, std::string_view command,
                                                   const std::string* group, std::string what,
                                                   Same same) {
  std::string start = "-";
  for (;;) {
    const key_encoder encode = [&](std::size_t, command_buffer& c) {
      c.begin(6);  // XRANGE key start end COUNT n / XPENDING key group start end n
      c.arg(command);
      c.arg_ref(s.key);
      if (group) {
        c.arg(*group);
        c.arg(start);
        c.arg("+");
        c.arg(static_cast<std::int64_t>(s.chunk));
      } else {
        c.arg(start);
        c.arg("+");
        c.arg("COUNT");
        c.arg(static_cast<std::int64_t>(s.chunk));
      }
    };
    if (auto done = co_await s.both(1, encode, 1, encode); !done) co_return done.error();
    if (auto stop = trouble(s, command)) co_return *stop;
    const auto& a = s.from_source[0].elements;
    const auto& b = s.from_target[0].elements;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      if (a[i].elements.empty() || b[i].elements.empty()) co_return changed_while_compared();
      if (a[i].elements[0].str != b[i].elements[0].str) {
        const bool earlier_on_target = b[i].elements[0].text() < a[i].elements[0].text();
        co_return stream_differs(fmt::format(
            "{} {} {}", what, short_text((earlier_on_target ? b : a)[i].elements[0].text()),
            earlier_on_target ? "only on the target" : "missing on the target"));
      }
      if (!same(a[i], b[i])) {
        co_return stream_differs(
            fmt::format("{} {} differs", what, short_text(a[i].elements[0].text())));
      }
    }
    if (a.size() != b.size()) {
      const auto& longer = a.size() > b.size() ? a : b;
      co_return stream_differs(fmt::format(
          "{} {} {}", what, short_text(longer[std::min(a.size(), b.size())].elements[0].text()),
          a.size() > b.size() ? "missing on the target" : "only on the target"));
    }
    if (a.empty()) co_return deep_result{};
    s.adapt(a.size(), reply_bytes(s.from_source[0]));
    start = next_stream_id(a.back().elements[0].text());
  }
}

}  // namespace

asio::awaitable<maybe<deep_result>> compare_stream(deep_session& s) {
  const key_encoder info = [&](std::size_t, command_buffer& c) {
    c.begin(3);
    c.arg("XINFO");
    c.arg("STREAM");
    c.arg_ref(s.key);
  };
  if (auto done = co_await s.both(1, info, 1, info); !done) co_return done.error();
  if (auto stop = trouble(s, "XINFO STREAM")) co_return *stop;
  if (auto d = first_difference(fields_of(s.from_source[0]), fields_of(s.from_target[0]),
                                {"length", "last-generated-id", "max-deleted-entry-id",
                                 "entries-added", "recorded-first-entry-id", "groups"})) {
    co_return stream_differs("stream " + *d);
  }

  auto entries = co_await compare_ranges(s, "XRANGE", nullptr, "entry",
                                         [](const reply& a, const reply& b) { return a == b; });
  if (!entries || !entries->equal) co_return entries;

  const key_encoder groups = [&](std::size_t, command_buffer& c) {
    c.begin(3);
    c.arg("XINFO");
    c.arg("GROUPS");
    c.arg_ref(s.key);
  };
  if (auto done = co_await s.both(1, groups, 1, groups); !done) co_return done.error();
  if (auto stop = trouble(s, "XINFO GROUPS")) co_return *stop;
  std::vector<std::string> names;
  {
    const auto& a = s.from_source[0].elements;
    const auto& b = s.from_target[0].elements;
    if (a.size() != b.size())
      co_return stream_differs(fmt::format("{} vs {} consumer groups", a.size(), b.size()));
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto x = fields_of(a[i]), y = fields_of(b[i]);
      const std::string name = x.count("name") ? x.at("name")->str.str() : std::string{};
      if (!y.count("name") || y.at("name")->str != name) {
        co_return stream_differs(
            fmt::format("consumer group \"{}\" missing on the target", short_text(name)));
      }
      if (auto d = first_difference(
              x, y, {"consumers", "pending", "last-delivered-id", "entries-read"})) {
        co_return stream_differs(fmt::format("consumer group \"{}\": {}", short_text(name), *d));
      }
      names.push_back(name);
    }
  }

  for (const std::string& group : names) {
    const key_encoder consumers = [&](std::size_t, command_buffer& c) {
      c.begin(4);
      c.arg("XINFO");
      c.arg("CONSUMERS");
      c.arg_ref(s.key);
      c.arg(group);
    };
    if (auto done = co_await s.both(1, consumers, 1, consumers); !done) co_return done.error();
    if (auto stop = trouble(s, "XINFO CONSUMERS")) co_return *stop;
    const auto& a = s.from_source[0].elements;
    const auto& b = s.from_target[0].elements;
    if (a.size() != b.size()) {
      co_return stream_differs(fmt::format("consumer group \"{}\": {} vs {} consumers",
                                           short_text(group), a.size(), b.size()));
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (auto d = first_difference(fields_of(a[i]), fields_of(b[i]), {"name", "pending"})) {
        co_return stream_differs(
            fmt::format("consumer group \"{}\": consumer {}", short_text(group), *d));
      }
    }
    auto pending = co_await compare_ranges(
        s, "XPENDING", &group,
        fmt::format("consumer group \"{}\": pending entry", short_text(group)),
        [](const reply& x, const reply& y) {
          // id, consumer, idle ms, deliveries: the idle time is the reader's clock, not data.
          return x.elements.size() == 4 && y.elements.size() == 4 &&
                 x.elements[1] == y.elements[1] && x.elements[3] == y.elements[3];
        });
    if (!pending || !pending->equal) co_return pending;
  }
  co_return deep_result{};
}

}  // namespace ferry::engine::detail
