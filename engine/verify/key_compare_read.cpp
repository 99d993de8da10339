// The reading half of key_comparer: what each side holds for a batch of keys (type, expiry,
// digest or length), with the digest script and its fallbacks. See key_compare.hpp.

#include <fmt/format.h>

#include <algorithm>

#include "engine/runtime/wall_clock.hpp"
#include "engine/verify/digest_scripts.hpp"
#include "engine/verify/key_compare.hpp"
#include "engine/verify/payload_digest.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using protocol::command_buffer;
using protocol::reply;

namespace {

/// Keys DUMPed here when a side refuses scripts are held in memory whole: a lower bound.
constexpr std::size_t dump_digest_max_bytes = std::size_t{4} << 20;

/// Across versions, DUMP payloads up to this size are digested here instead of by the canonical
/// script: the mixed profile's small values are a few dozen to a few hundred bytes.
constexpr std::size_t local_digest_max_bytes = std::size_t{16} << 10;
/// Payload bytes one pipelined group of those DUMPs may bring in; the rest go to the script.
constexpr std::size_t local_digest_batch_bytes = std::size_t{4} << 20;
/// The smallest --digest-max-bytes with which they are: below it the script's size estimate
/// decides which keys are compared element by element.
constexpr std::size_t local_digest_min_limit = std::size_t{1} << 20;

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

key_comparer::key_comparer(routed_side& source, routed_side& target, compare_options options,
                           side_probes* probes)
    : own_probes_(options.prove_no_expiry),
      source_{source, options.source_pexpiretime, options.source_field_ttls, true, 1.0, {}},
      target_{target, options.target_pexpiretime, options.target_field_ttls, true, 1.0, {}},
      options_(options),
      script_(options.canonical_digest ? canonical_digest_script : dump_digest_script),
      script_sha_(sha1_hex(script_)) {
  if (options_.rounds == 0) options_.rounds = 1;
  source_.probe = probes != nullptr ? &probes->source : &own_probes_.source;
  target_.probe = probes != nullptr ? &probes->target : &own_probes_.target;
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
  // Strings first pays while they are most keys: another type costs a refused GET and a
  // second round trip (the same trade as the copy's read_path.hpp).
  constexpr double strings_first_share = 0.6, newest_weight = 0.25;
  const auto observe = [&](std::size_t strings, std::size_t seen) {
    if (seen == 0) return;
    reader.string_share = reader.string_share * (1 - newest_weight) +
                          newest_weight * static_cast<double>(strings) / static_cast<double>(seen);
  };
  // --digest-max-bytes 0 asks for every value to be compared element by element.
  const std::size_t direct_max = std::min(options_.direct_max_bytes, options_.digest_max_bytes);
  if (!options_.direct_strings || direct_max == 0 || options_.mode != compare_mode::full ||
      reader.string_share < strings_first_share) {
    auto states = co_await read_typed_states(reader, keys, true, true);
    if (states && options_.direct_strings) {
      std::size_t strings = 0, seen = 0;
      for (const key_state& state : *states) {
        seen += state.exists();
        strings += state.type == "string";
      }
      observe(strings, seen);
    }
    co_return states;
  }
  // The value first, as the copy reads it: the first command on a key pays for finding it in
  // the server's memory, and the expiry read behind it is then almost free (the source's
  // commandstats: PEXPIRETIME took 0.98 s per million keys in front of GETRANGE, 0.13 s behind
  // the copy's GET). GET, as the copy: it costs the server less than GETRANGE with its range
  // (1.25 against 1.6 s per million small strings in the lab); a longer string is not kept
  // here (it crosses the network, as in the copy) and takes the usual path.
  probed_read expiries(*reader.probe, keys.size());
  const std::size_t per_key = expiries.per_key_expiries() ? 2 : 1;
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    c.begin(2);
    c.arg("GET");
    c.arg_ref(keys[i]);
    if (per_key == 1) return;
    c.begin(2);
    c.arg(reader.pexpiretime ? "PEXPIRETIME" : "PTTL");
    c.arg_ref(keys[i]);
  };
  // Not below a few KiB: the INFO replies of the probe come back through the same filter.
  constexpr std::size_t info_room = std::size_t{8} << 10;
  reader.side.keep_bulks({.skip_over = std::max(direct_max, info_room)});
  auto ran = co_await reader.side.run(keys, per_key, encode, reader.replies, expiries.bracket(),
                                      expiries.answers);
  reader.side.keep_bulks({});
  if (!ran) co_return ran.error();
  const std::int64_t read_at = unix_ms();
  const std::vector<std::uint32_t> unproven_keys = expiries.settle(reader.side.db());
  std::vector<bool> unproven(keys.size());
  for (const std::uint32_t i : unproven_keys) unproven[i] = true;
  std::vector<key_state> states(keys.size());
  std::vector<std::size_t> others;
  std::size_t strings = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const reply& value = reader.replies[per_key * i];
    std::int64_t expire_at = -1;  // proven to have none, or read:
    if (per_key == 2) {
      const reply& ttl = reader.replies[2 * i + 1];
      if (ttl.is_error()) {
        co_return refused(reader.side, reader.pexpiretime ? "PEXPIRETIME" : "PTTL", ttl);
      }
      expire_at = expiry_from_reply(ttl.integer, reader.pexpiretime, read_at);
      if (expire_at == -2) continue;  // gone
    }
    if (value.is_nil()) continue;  // gone
    if (value.is_error()) {
      if (protocol::classify_error_reply(value.text()) != protocol::errc::wrong_type) {
        co_return refused(reader.side, "GET", value);
      }
      others.push_back(i);  // another type
      continue;
    }
    ++strings;
    // Longer: the usual path; so is a key whose node proved nothing (its expiry is needed).
    if (value.is_skipped() || value.str.size() >= direct_max || unproven[i]) {
      others.push_back(i);
      continue;
    }
    key_state& state = states[i];
    state.type = "string";
    state.expire_at_ms = expire_at;
    // No length: the usual path does not read one either, and a re-check may take it.
    state.digest = string_digest(value.text());
    state.whole = true;
  }
  observe(strings, strings + others.size());
  if (others.empty()) co_return states;
  const std::vector<bytes> rest = pick(keys, others);
  // Keys whose proof failed are read with their expiries (the probe waits before trying again).
  auto typed = co_await read_typed_states(reader, rest, true, unproven_keys.empty());
  if (!typed) co_return typed.error();
  for (std::size_t j = 0; j < others.size(); ++j) states[others[j]] = std::move((*typed)[j]);
  co_return states;
}

asio::awaitable<maybe<std::vector<key_state>>> key_comparer::read_typed_states(
    side_reader& reader, std::span<const bytes> keys, bool dumps, bool may_prove) {
  const bool full = options_.mode == compare_mode::full;
  const bool scripts = full && reader.scripts;
  // Across versions a small value's DUMP is read and digested here (payload_digest.hpp), which
  // costs the server less than the canonical script; larger ones, and values this digest does
  // not cover, still go to the script. Not with a small --digest-max-bytes, which asks for
  // element-wise comparisons the script's size estimate decides.
  const bool local = dumps && scripts && options_.canonical_digest && reader.dumps &&
                     options_.digest_max_bytes >= local_digest_min_limit;
  // Not around DUMPs kept within a budget: the trailing INFO could be the reply left out.
  probed_read expiries(*reader.probe, keys.size(), may_prove && !local);
  const std::size_t ttl_at = expiries.per_key_expiries() ? 1 : 0;  // 0: no expiry command
  const std::size_t digest_at = ttl_at + 1;
  const std::size_t per_key = digest_at + (scripts ? 1 : 0);
  const std::string limit = std::to_string(options_.digest_max_bytes);
  const key_encoder encode = [&](std::size_t i, command_buffer& c) {
    c.begin(2);
    c.arg("TYPE");
    c.arg_ref(keys[i]);
    if (ttl_at != 0) {
      c.begin(2);
      c.arg(reader.pexpiretime ? "PEXPIRETIME" : "PTTL");
      c.arg_ref(keys[i]);
    }
    if (!scripts) return;
    if (local) {
      c.begin(2);
      c.arg("DUMP");
      c.arg_ref(keys[i]);
      return;
    }
    c.begin(8);
    c.arg(options_.read_only_scripts && reader.pexpiretime ? "EVALSHA_RO" : "EVALSHA");
    c.arg(script_sha_);
    c.arg("1");
    c.arg_ref(keys[i]);
    c.arg(limit);
    c.arg(reader.field_ttls ? "1" : "0");
    c.arg(options_.stream_v7 ? "1" : "0");
    c.arg(options_.direct_strings ? "1" : "0");
  };
  if (local) {
    reader.side.keep_bulks({.skip_over = local_digest_max_bytes,
                            .budget = local_digest_batch_bytes,
                            .keep_first = false});
  }
  auto ran = co_await reader.side.run(keys, per_key, encode, reader.replies, expiries.bracket(),
                                      expiries.answers);
  if (local) reader.side.keep_bulks({});
  if (!ran) co_return ran.error();
  const std::int64_t read_at = unix_ms();
  const std::vector<std::uint32_t> unproven_keys = expiries.settle(reader.side.db());
  std::vector<bool> unproven(keys.size());
  for (const std::uint32_t i : unproven_keys) unproven[i] = true;
  std::vector<key_state> states(keys.size());
  std::vector<std::size_t> noscript, dump, scripted;
  std::string refusal;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (unproven[i]) continue;  // read again below
    const reply& type = reader.replies[i * per_key];
    if (type.is_error()) co_return refused(reader.side, "TYPE", type);
    key_state& state = states[i];
    state.type = type.text();
    state.expire_at_ms = -1;  // proven to have none, or read:
    if (ttl_at != 0) {
      const reply& ttl = reader.replies[i * per_key + ttl_at];
      if (ttl.is_error()) {
        co_return refused(reader.side, reader.pexpiretime ? "PEXPIRETIME" : "PTTL", ttl);
      }
      state.expire_at_ms = expiry_from_reply(ttl.integer, reader.pexpiretime, read_at);
    }
    if (!state.exists() || state.expire_at_ms == -2) {
      state = key_state{};  // gone (or expired) between the commands
      continue;
    }
    if (!full) continue;
    if (!scripts) {
      dump.push_back(i);
      continue;
    }
    const reply& digest = reader.replies[i * per_key + digest_at];
    if (local) {
      if (digest.is_nil()) {
        state = key_state{};  // gone between TYPE and DUMP
      } else if (digest.kind != protocol::reply_kind::string ||
                 digest.str.size() > local_digest_max_bytes) {
        // Skipped (large, or past the batch's budget), refused, or not decoded: the script.
        if (digest.is_error()) reader.dumps = false;  // e.g. an ACL without +dump
        scripted.push_back(i);
      } else if (auto local_digest =
                     payload_canonical_digest(digest.text(), {.stream_v7 = options_.stream_v7})) {
        state.digest = std::move(*local_digest);
      } else {
        scripted.push_back(i);  // a module value, or a payload this build does not decode
      }
      continue;
    }
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
  if (!unproven_keys.empty()) {
    const std::vector<std::size_t> which(unproven_keys.begin(), unproven_keys.end());
    auto again = co_await read_typed_states(reader, pick(keys, which), dumps, false);
    if (!again) co_return again.error();
    for (std::size_t j = 0; j < which.size(); ++j) states[which[j]] = std::move((*again)[j]);
  }
  if (!scripted.empty()) {
    auto again = co_await read_typed_states(reader, pick(keys, scripted), false, true);
    if (!again) co_return again.error();
    for (std::size_t j = 0; j < scripted.size(); ++j) {
      states[scripted[j]] = std::move((*again)[j]);
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
    c.begin(8);
    // Also loads the script on that server for later EVALSHAs.
    c.arg(options_.read_only_scripts && reader.pexpiretime ? "EVAL_RO" : "EVAL");
    c.arg(script_);
    c.arg("1");
    c.arg_ref(some[i]);
    c.arg(limit);
    c.arg(reader.field_ttls ? "1" : "0");
    c.arg(options_.stream_v7 ? "1" : "0");
    c.arg(options_.direct_strings ? "1" : "0");
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
      key_state& state = states[group[j]];
      if (take_digest(replies[j], false, state) == digest_answer::refused) {
        co_return refused(reader.side, "DUMP", replies[j]);
      }
      if (!options_.canonical_digest || !state.exists()) continue;
      // Across versions the payload's own digest rarely matches: the canonical one where it
      // decodes here (as the other side's small values are digested).
      if (auto canonical =
              payload_canonical_digest(replies[j].text(), {.stream_v7 = options_.stream_v7})) {
        state.digest = std::move(*canonical);
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
