#include "engine/key_compare.hpp"

#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "protocol/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using protocol::command_buffer;
using protocol::reply;

namespace {

/// SHA-1 of the DUMP payload without its 10-byte trailer (2-byte RDB version + CRC64), so that
/// servers of different versions holding the same encoding agree. Read-only; no shebang, so
/// Redis 5 and 6 run it too.
constexpr std::string_view digest_script =
    "local d = redis.call('DUMP', KEYS[1]) if not d then return false end "
    "return redis.sha1hex(string.sub(d, 1, -11))";

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// The command giving a type's length, or empty for types without one (modules).
std::string_view length_command(std::string_view type) {
  if (type == "string") return "STRLEN";
  if (type == "list") return "LLEN";
  if (type == "set") return "SCARD";
  if (type == "zset") return "ZCARD";
  if (type == "hash") return "HLEN";
  if (type == "stream") return "XLEN";
  return {};
}

std::vector<bytes> pick(std::span<const bytes> keys, const std::vector<std::size_t>& which) {
  std::vector<bytes> out;
  out.reserve(which.size());
  for (std::size_t i : which) out.push_back(keys[i]);
  return out;
}

protocol::failure refused(const routed_side& side, std::string_view command, const reply& r) {
  return fail_with(protocol::classify_error_reply(r.text()),
                   fmt::format("the {} refused {}: {}; allow it for ferry's user", side.role(),
                               command, r.text()));
}

std::string expiry_detail(const key_state& s, const key_state& t) {
  if (s.expire_at_ms < 0) return "the target has an expiry, the source none";
  if (t.expire_at_ms < 0) return "the source has an expiry, the target none";
  const std::int64_t delta = t.expire_at_ms - s.expire_at_ms;
  return fmt::format("the target expires {} ms {}", delta < 0 ? -delta : delta,
                     delta < 0 ? "earlier" : "later");
}

}  // namespace

key_comparer::key_comparer(routed_side& source, routed_side& target, compare_options options)
    : source_{source, options.source_pexpiretime, true, {}},
      target_{target, options.target_pexpiretime, true, {}},
      options_(options),
      script_sha_(sha1_hex(digest_script)) {
  if (options_.rounds == 0) options_.rounds = 1;
}

void key_comparer::note_refusal(side_reader& reader, std::string_view refusal) {
  if (!reader.scripts) return;
  reader.scripts = false;
  warnings_.push_back(fmt::format(
      "the {} refused the digest script ({}); comparing whole DUMP payloads instead, which "
      "moves every value over the network",
      reader.side.role(), refusal));
}

std::vector<std::string> key_comparer::take_warnings() { return std::exchange(warnings_, {}); }

asio::awaitable<maybe<std::vector<key_state>>> key_comparer::read_source(
    std::span<const bytes> keys) {
  co_return co_await read_states(source_, keys);
}

asio::awaitable<maybe<std::vector<key_state>>> key_comparer::read_states(
    side_reader& reader, std::span<const bytes> keys) {
  const bool full = options_.mode == compare_mode::full;
  const bool scripts = reader.scripts;
  const std::size_t per_key = full ? 3 : 2;
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    c.begin(2);
    c.arg("TYPE");
    c.arg_ref(keys[i]);
    c.begin(2);
    c.arg(reader.pexpiretime ? "PEXPIRETIME" : "PTTL");
    c.arg_ref(keys[i]);
    if (!full) return;
    if (scripts) {
      c.begin(4);
      c.arg("EVALSHA");
      c.arg(script_sha_);
      c.arg("1");
    } else {
      c.begin(2);
      c.arg("DUMP");
    }
    c.arg_ref(keys[i]);
  };
  if (auto done = co_await reader.side.run(keys, per_key, encode, reader.replies); !done) {
    co_return done.error();
  }
  const std::int64_t read_at = now_ms();
  std::vector<key_state> states(keys.size());
  std::vector<std::size_t> noscript, refusing;
  std::string refusal;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const reply& type = reader.replies[i * per_key];
    const reply& ttl = reader.replies[i * per_key + 1];
    if (type.is_error()) co_return refused(reader.side, "TYPE", type);
    if (ttl.is_error())
      co_return refused(reader.side, reader.pexpiretime ? "PEXPIRETIME" : "PTTL", ttl);
    key_state& state = states[i];
    state.type = type.text();
    state.expire_at_ms = expiry_from_reply(ttl.integer, reader.pexpiretime, read_at);
    if (!state.exists() || state.expire_at_ms == -2) {
      state = key_state{};  // gone (or expired) between the commands
      continue;
    }
    if (!full) continue;
    const reply& digest = reader.replies[i * per_key + 2];
    if (digest.is_error()) {
      if (!scripts) co_return refused(reader.side, "DUMP", digest);
      if (digest.text().starts_with("NOSCRIPT")) {
        noscript.push_back(i);  // this server has not seen the script yet
      } else {
        refusing.push_back(i);
        refusal = digest.text();
      }
    } else if (digest.is_nil()) {
      state = key_state{};
    } else {
      state.digest = scripts ? digest.str.str() : dump_digest(digest.text());
    }
  }
  if (!noscript.empty()) {
    if (auto done = co_await read_digests(reader, keys, std::move(noscript), states, true); !done) {
      co_return done.error();
    }
  }
  if (!refusing.empty()) {
    note_refusal(reader, refusal);
    if (auto done = co_await read_digests(reader, keys, std::move(refusing), states, false);
        !done) {
      co_return done.error();
    }
  }
  if (!full) {
    if (auto done = co_await read_lengths(reader, keys, states); !done) co_return done.error();
  }
  co_return states;
}

asio::awaitable<outcome> key_comparer::read_digests(side_reader& reader,
                                                    std::span<const bytes> keys,
                                                    std::vector<std::size_t> which,
                                                    std::vector<key_state>& states, bool use_eval) {
  const std::vector<bytes> some = pick(keys, which);
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    if (use_eval) {
      c.begin(4);
      c.arg("EVAL");
      c.arg(digest_script);
      c.arg("1");
    } else {
      c.begin(2);
      c.arg("DUMP");
    }
    c.arg_ref(some[i]);
  };
  std::vector<reply> replies;
  if (auto done = co_await reader.side.run(some, 1, encode, replies); !done) co_return done;
  std::vector<std::size_t> refusing;
  std::string refusal;
  for (std::size_t j = 0; j < some.size(); ++j) {
    key_state& state = states[which[j]];
    const reply& digest = replies[j];
    if (digest.is_error()) {
      if (!use_eval) co_return refused(reader.side, "DUMP", digest);
      refusing.push_back(which[j]);
      refusal = digest.text();
    } else if (digest.is_nil()) {
      state = key_state{};
    } else {
      state.digest = use_eval ? digest.str.str() : dump_digest(digest.text());
    }
  }
  if (refusing.empty()) co_return outcome{};
  note_refusal(reader, refusal);
  co_return co_await read_digests(reader, keys, std::move(refusing), states, false);
}

asio::awaitable<outcome> key_comparer::read_lengths(side_reader& reader,
                                                    std::span<const bytes> keys,
                                                    std::vector<key_state>& states) {
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (states[i].exists() && states[i].length < 0 && !length_command(states[i].type).empty()) {
      which.push_back(i);
    }
  }
  if (which.empty()) co_return outcome{};
  const std::vector<bytes> some = pick(keys, which);
  const key_encoder encode = [&](std::size_t j, command_buffer& c) {
    c.begin(2);
    c.arg(length_command(states[which[j]].type));
    c.arg_ref(some[j]);
  };
  std::vector<reply> replies;
  if (auto done = co_await reader.side.run(some, 1, encode, replies); !done) co_return done;
  for (std::size_t j = 0; j < some.size(); ++j) {
    // WRONGTYPE: the key changed since TYPE; its length stays unknown.
    if (!replies[j].is_error()) states[which[j]].length = replies[j].integer;
  }
  co_return outcome{};
}

asio::awaitable<maybe<verdict>> key_comparer::judge(const bytes& key, key_state source,
                                                    key_state target) {
  verdict v;
  v.key = bytes::copy_of(key.view());
  v.source = std::move(source);
  v.target = std::move(target);
  const key_state& s = v.source;
  const key_state& t = v.target;
  if (!s.exists()) {
    v.vanished = true;
    co_return v;
  }
  if (!t.exists()) {
    v.kind = difference::missing;
    co_return v;
  }
  if (s.type != t.type) {
    v.kind = difference::type;
    v.detail = fmt::format("{} on the source, {} on the target", s.type, t.type);
    co_return v;
  }
  bool value_differs = false;
  if (options_.mode == compare_mode::full) {
    if (s.digest != t.digest) {
      ++deep_compared_;
      v.deep = true;
      auto deep = co_await deep_compare(source_.side, target_.side, v.key, s.type, options_.deep);
      if (!deep) co_return deep.error();
      value_differs = !deep->equal;
      v.detail = std::move(deep->detail);
    }
  } else if (s.length != t.length) {
    value_differs = true;
    v.detail = fmt::format("{} vs {} {}", s.length, t.length, length_unit(s.type));
  }
  const bool expiry = expiry_differs(s.expire_at_ms, t.expire_at_ms, options_.ttl_tolerance_ms);
  if (value_differs) {
    v.kind = difference::value;
    if (expiry) v.detail += "; the expiries differ too";
  } else if (expiry) {
    v.kind = difference::expiry;
    v.detail = expiry_detail(s, t);
  }
  co_return v;
}

asio::awaitable<maybe<std::vector<verdict>>> key_comparer::compare_once(
    std::span<const bytes> keys) {
  using namespace asio::experimental::awaitable_operators;
  auto [s, t] = co_await (read_states(source_, keys) && read_states(target_, keys));
  if (!s) co_return s.error();
  if (!t) co_return t.error();
  std::vector<verdict> verdicts;
  verdicts.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto v = co_await judge(keys[i], std::move((*s)[i]), std::move((*t)[i]));
    if (!v) co_return v.error();
    verdicts.push_back(std::move(*v));
  }
  co_return verdicts;
}

asio::awaitable<maybe<std::vector<verdict>>> key_comparer::compare(std::span<const bytes> keys) {
  std::vector<verdict> result(keys.size());
  std::vector<std::size_t> todo(keys.size());
  for (std::size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  auto pause = options_.recheck_pause;
  // PTTL-derived expiries jitter by the time between reads; PEXPIRETIME is exact.
  const std::int64_t source_slack = source_.pexpiretime ? 0 : options_.ttl_tolerance_ms;
  const std::int64_t target_slack = target_.pexpiretime ? 0 : options_.ttl_tolerance_ms;
  using namespace asio::experimental::awaitable_operators;
  for (unsigned round = 1; !todo.empty(); ++round) {
    const std::vector<bytes> some = pick(keys, todo);
    auto found = co_await compare_once(some);
    if (!found) co_return found.error();
    std::vector<std::size_t> differing;
    for (std::size_t j = 0; j < todo.size(); ++j) {
      (*found)[j].rounds = round;
      if ((*found)[j].kind != difference::none) differing.push_back(todo[j]);
      result[todo[j]] = std::move((*found)[j]);
    }
    todo.clear();
    if (differing.empty()) break;
    // A live source may be ahead of a target that a sync is about to update: look at both
    // sides again later. Only a difference that holds still is reported as one.
    if (!co_await source_.side.pause(pause)) {
      co_return fail_with(protocol::errc::server_error, "stopped while re-checking differences");
    }
    pause *= 2;
    const std::vector<bytes> again = pick(keys, differing);
    auto [source_now, target_now] =
        co_await (read_states(source_, again) && read_states(target_, again));
    if (!source_now) co_return source_now.error();
    if (!target_now) co_return target_now.error();
    for (std::size_t j = 0; j < differing.size(); ++j) {
      verdict& v = result[differing[j]];
      const bool source_changed = state_moved(v.source, (*source_now)[j], source_slack);
      const bool target_changed = state_moved(v.target, (*target_now)[j], target_slack);
      if (!source_changed && !target_changed) continue;  // a stable difference
      if (round >= options_.rounds) {
        v.kind = difference::changed;
        v.detail = fmt::format("the {} kept changing during {} comparisons",
                               source_changed ? "source" : "target", round);
        v.source = std::move((*source_now)[j]);
        v.target = std::move((*target_now)[j]);
        continue;
      }
      todo.push_back(differing[j]);
    }
  }
  if (auto done = co_await add_lengths(result); !done) co_return done.error();
  co_return result;
}

asio::awaitable<outcome> key_comparer::add_lengths(std::vector<verdict>& verdicts) {
  std::vector<bytes> keys;
  std::vector<key_state> sources, targets;
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    if (verdicts[i].kind == difference::none) continue;
    which.push_back(i);
    keys.push_back(verdicts[i].key);
    sources.push_back(verdicts[i].source);
    targets.push_back(verdicts[i].target);
  }
  if (which.empty()) co_return outcome{};
  using namespace asio::experimental::awaitable_operators;
  auto [a, b] =
      co_await (read_lengths(source_, keys, sources) && read_lengths(target_, keys, targets));
  if (!a) co_return a;
  if (!b) co_return b;
  for (std::size_t j = 0; j < which.size(); ++j) {
    verdicts[which[j]].source.length = sources[j].length;
    verdicts[which[j]].target.length = targets[j].length;
  }
  co_return outcome{};
}

}  // namespace ferry::engine
