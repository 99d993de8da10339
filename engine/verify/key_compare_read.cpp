// The reading half of key_comparer: what each side holds for a batch of keys (type, expiry,
// digest or length), with the digest script and its fallbacks. See key_compare.hpp.

#include <fmt/format.h>

#include <algorithm>

#include "engine/verify/key_compare.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using protocol::command_buffer;
using protocol::reply;

namespace {

/// SHA-1 of the DUMP payload without its 10-byte trailer (2-byte RDB version + CRC64), so that
/// servers of different versions holding the same encoding agree. A key estimated over ARGV[1]
/// bytes (see estimated_bytes) is not DUMPed ('big'): the server would hold its DUMP three times
/// over and be blocked meanwhile; it is compared element by element instead. Uses only commands
/// `verify` needs anyway (TYPE, the length commands, DUMP), so ACL rules need nothing more.
/// Read-only; no shebang, so Redis 5 and 6 run it too.
constexpr std::string_view digest_script =
    "local k = KEYS[1] local t = redis.call('TYPE', k)['ok'] local n = 0 "
    "if t == 'none' then return false "
    "elseif t == 'string' then n = redis.call('STRLEN', k) "
    "elseif t == 'list' then n = 64 * redis.call('LLEN', k) "
    "elseif t == 'hash' then n = 64 * redis.call('HLEN', k) "
    "elseif t == 'set' then n = 64 * redis.call('SCARD', k) "
    "elseif t == 'zset' then n = 64 * redis.call('ZCARD', k) "
    "elseif t == 'stream' then n = 64 * redis.call('XLEN', k) end "
    "if n > tonumber(ARGV[1]) then return 'big' end "
    "local d = redis.call('DUMP', k) if not d then return false end "
    "return redis.sha1hex(string.sub(d, 1, -11))";

/// Keys DUMPed here when a side refuses scripts are held in memory whole: a lower bound.
constexpr std::size_t dump_digest_max_bytes = std::size_t{4} << 20;

/// What a digest reply says about a key.
enum class digest_answer { digest, oversized, gone, noscript, refused };

digest_answer take_digest(const reply& r, bool from_script, key_state& state) {
  if (r.is_error()) {
    return from_script && r.text().starts_with("NOSCRIPT") ? digest_answer::noscript
                                                           : digest_answer::refused;
  }
  if (r.is_nil()) {
    state = key_state{};  // gone between TYPE and the digest
    return digest_answer::gone;
  }
  if (from_script && r.text() == "big") {
    state.oversized = true;
    return digest_answer::oversized;
  }
  state.digest = from_script ? r.str.str() : dump_digest(r.text());
  return digest_answer::digest;
}

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

protocol::failure refused(const routed_side& side, std::string_view command, const reply& r) {
  return fail_with(protocol::classify_error_reply(r.text()),
                   fmt::format("the {} refused {}: {}; allow it for ferry's user", side.role(),
                               command, r.text()));
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
  const bool scripts = full && reader.scripts;
  const std::size_t per_key = scripts ? 3 : 2;
  const std::string limit = std::to_string(options_.digest_max_bytes);
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    c.begin(2);
    c.arg("TYPE");
    c.arg_ref(keys[i]);
    c.begin(2);
    c.arg(reader.pexpiretime ? "PEXPIRETIME" : "PTTL");
    c.arg_ref(keys[i]);
    if (!scripts) return;
    c.begin(5);
    c.arg(options_.read_only_scripts && reader.pexpiretime ? "EVALSHA_RO" : "EVALSHA");
    c.arg(script_sha_);
    c.arg("1");
    c.arg_ref(keys[i]);
    c.arg(limit);
  };
  if (auto done = co_await reader.side.run(keys, per_key, encode, reader.replies); !done) {
    co_return done.error();
  }
  const std::int64_t read_at = now_ms();
  std::vector<key_state> states(keys.size());
  std::vector<std::size_t> noscript, dump;
  std::string refusal;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const reply& type = reader.replies[i * per_key];
    const reply& ttl = reader.replies[i * per_key + 1];
    if (type.is_error()) co_return refused(reader.side, "TYPE", type);
    if (ttl.is_error()) {
      co_return refused(reader.side, reader.pexpiretime ? "PEXPIRETIME" : "PTTL", ttl);
    }
    key_state& state = states[i];
    state.type = type.text();
    state.expire_at_ms = expiry_from_reply(ttl.integer, reader.pexpiretime, read_at);
    if (!state.exists() || state.expire_at_ms == -2) {
      state = key_state{};  // gone (or expired) between the commands
      continue;
    }
    if (!full) continue;
    if (!scripts) {
      dump.push_back(i);
      continue;
    }
    const reply& digest = reader.replies[i * per_key + 2];
    switch (take_digest(digest, true, state)) {
      case digest_answer::noscript:
        noscript.push_back(i);
        break;  // not loaded there yet
      case digest_answer::refused:
        dump.push_back(i);
        refusal = digest.text();
        break;
      default:
        break;
    }
  }
  if (!noscript.empty()) {
    if (auto done = co_await read_script_digests(reader, keys, noscript, states, dump, refusal);
        !done) {
      co_return done.error();
    }
  }
  if (!refusal.empty()) note_refusal(reader, refusal);
  if (!dump.empty()) {
    if (auto done = co_await read_dump_digests(reader, keys, dump, states); !done) {
      co_return done.error();
    }
  }
  // Quick mode compares lengths; an oversized key's length tells a later look that it moved.
  if (auto done = co_await read_lengths(reader, keys, states, !full); !done) {
    co_return done.error();
  }
  co_return states;
}

asio::awaitable<outcome> key_comparer::read_script_digests(
    side_reader& reader, std::span<const bytes> keys, const std::vector<std::size_t>& which,
    std::vector<key_state>& states, std::vector<std::size_t>& refused_keys, std::string& refusal) {
  const std::vector<bytes> some = pick(keys, which);
  const std::string limit = std::to_string(options_.digest_max_bytes);
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    c.begin(5);
    // Also loads the script on that server for later EVALSHAs.
    c.arg(options_.read_only_scripts && reader.pexpiretime ? "EVAL_RO" : "EVAL");
    c.arg(digest_script);
    c.arg("1");
    c.arg_ref(some[i]);
    c.arg(limit);
  };
  std::vector<reply> replies;
  if (auto done = co_await reader.side.run(some, 1, encode, replies); !done) co_return done;
  for (std::size_t j = 0; j < some.size(); ++j) {
    const auto answer = take_digest(replies[j], true, states[which[j]]);
    if (answer == digest_answer::noscript || answer == digest_answer::refused) {
      refused_keys.push_back(which[j]);
      refusal = replies[j].text();
    }
  }
  co_return outcome{};
}

asio::awaitable<outcome> key_comparer::read_dump_digests(side_reader& reader,
                                                         std::span<const bytes> keys,
                                                         const std::vector<std::size_t>& which,
                                                         std::vector<key_state>& states) {
  // Lengths first, so that no huge payload crosses the network into this process's memory.
  const std::vector<bytes> some = pick(keys, which);
  std::vector<key_state> some_states;
  for (std::size_t i : which) some_states.push_back(states[i]);
  if (auto done = co_await read_lengths(reader, some, some_states, true); !done) co_return done;
  const auto limit = std::min(options_.digest_max_bytes, dump_digest_max_bytes);
  std::vector<std::size_t> small;
  for (std::size_t j = 0; j < which.size(); ++j) {
    key_state& state = states[which[j]];
    state.length = some_states[j].length;
    if (estimated_bytes(state.type, state.length) > limit) {
      state.oversized = true;
    } else {
      small.push_back(which[j]);
    }
  }
  // A few payloads at a time: a batch of keys just under the limit must not arrive at once.
  std::vector<reply> replies;
  for (std::size_t first = 0; first < small.size();) {
    std::size_t last = first;
    std::size_t weight = 0;
    while (last < small.size() && (last == first || weight < dump_digest_max_bytes)) {
      const key_state& state = states[small[last++]];
      weight += std::max<std::size_t>(estimated_bytes(state.type, state.length), 64);
    }
    const std::vector<std::size_t> group(small.begin() + static_cast<std::ptrdiff_t>(first),
                                         small.begin() + static_cast<std::ptrdiff_t>(last));
    first = last;
    const std::vector<bytes> chosen = pick(keys, group);
    const key_encoder encode = [&](std::size_t i, command_buffer& c) {
      c.begin(2);
      c.arg("DUMP");
      c.arg_ref(chosen[i]);
    };
    if (auto done = co_await reader.side.run(chosen, 1, encode, replies); !done) co_return done;
    for (std::size_t j = 0; j < chosen.size(); ++j) {
      if (take_digest(replies[j], false, states[group[j]]) == digest_answer::refused) {
        co_return refused(reader.side, "DUMP", replies[j]);
      }
    }
  }
  co_return outcome{};
}

asio::awaitable<outcome> key_comparer::read_lengths(side_reader& reader,
                                                    std::span<const bytes> keys,
                                                    std::vector<key_state>& states, bool all) {
  std::vector<std::size_t> which;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const key_state& state = states[i];
    if (state.exists() && state.length < 0 && (all || state.oversized) &&
        !length_command(state.type).empty()) {
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

}  // namespace ferry::engine
