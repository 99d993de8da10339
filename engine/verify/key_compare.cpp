#include "engine/verify/key_compare.hpp"

#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using protocol::command_buffer;
using protocol::reply;

namespace {

std::string expiry_detail(const key_state& s, const key_state& t) {
  if (s.expire_at_ms < 0) return "the target has an expiry, the source none";
  if (t.expire_at_ms < 0) return "the source has an expiry, the target none";
  const std::int64_t delta = t.expire_at_ms - s.expire_at_ms;
  return fmt::format("the target expires {} ms {}", delta < 0 ? -delta : delta,
                     delta < 0 ? "earlier" : "later");
}

}  // namespace

std::vector<bytes> key_comparer::pick(std::span<const bytes> keys,
                                      const std::vector<std::size_t>& which) {
  std::vector<bytes> out;
  out.reserve(which.size());
  for (std::size_t i : which) out.push_back(keys[i]);
  return out;
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
    if (s.whole && t.whole) {
      // Both read whole (small strings): their digests are the values', and a live source's
      // thousands of rewritten strings cost no comparison one key at a time.
      value_differs = s.digest != t.digest;
      if (value_differs) v.detail = "the bytes differ";
    } else if (s.oversized || t.oversized || s.digest != t.digest) {
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
  const auto first_look = std::chrono::steady_clock::now();
  auto found = co_await compare_once(keys);
  if (!found) co_return found.error();
  if (auto done = co_await recheck(*found, first_look); !done) co_return done.error();
  co_return std::move(*found);
}

asio::awaitable<outcome> key_comparer::recheck(std::vector<verdict>& result,
                                               std::chrono::steady_clock::time_point first_look) {
  recheck_state state = begin_recheck(std::move(result), first_look);
  outcome done;
  while (done && !state.done()) {
    const auto wait = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   state.due - std::chrono::steady_clock::now()),
                               std::chrono::milliseconds{0});
    if (co_await source_.side.pause(wait)) {
      done = co_await recheck_round(state);
    } else {
      done = fail_with(job_error::stopped, "stopped while re-checking differences");
    }
  }
  result = std::move(state.verdicts);
  co_return done;
}

recheck_state key_comparer::begin_recheck(std::vector<verdict> verdicts,
                                          std::chrono::steady_clock::time_point first_look) const {
  recheck_state state;
  state.verdicts = std::move(verdicts);
  for (std::size_t i = 0; i < state.verdicts.size(); ++i) {
    if (state.verdicts[i].kind != difference::none) state.differing.push_back(i);
  }
  // A live source may be ahead of a target that a sync is about to update: look at both sides
  // again later. Only a difference that holds still is reported as one. The first pause counts
  // from the first look (time spent waiting elsewhere counts too).
  state.pause = options_.recheck_pause;
  state.due = first_look + state.pause;
  return state;
}

asio::awaitable<outcome> key_comparer::recheck_round(recheck_state& state) {
  if (state.done()) co_return outcome{};
  std::vector<verdict>& result = state.verdicts;
  std::vector<std::size_t>& differing = state.differing;
  const unsigned round = state.round++;
  state.pause *= 2;
  // PTTL-derived expiries jitter by the time between reads; PEXPIRETIME is exact.
  const std::int64_t source_slack = source_.pexpiretime ? 0 : options_.ttl_tolerance_ms;
  const std::int64_t target_slack = target_.pexpiretime ? 0 : options_.ttl_tolerance_ms;
  using namespace asio::experimental::awaitable_operators;
  std::vector<bytes> again;
  again.reserve(differing.size());
  for (std::size_t i : differing) again.push_back(result[i].key);
  auto [source_now, target_now] =
      co_await (read_states(source_, again) && read_states(target_, again));
  if (!source_now) co_return source_now.error();
  if (!target_now) co_return target_now.error();
  std::vector<std::size_t> todo;
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
  differing.clear();
  if (!todo.empty()) {
    const std::vector<bytes> some = pick_keys(result, todo);
    auto found = co_await compare_once(some);
    if (!found) co_return found.error();
    for (std::size_t j = 0; j < todo.size(); ++j) {
      (*found)[j].rounds = round + 1;
      if ((*found)[j].kind != difference::none) differing.push_back(todo[j]);
      result[todo[j]] = std::move((*found)[j]);
    }
  }
  state.due = std::chrono::steady_clock::now() + state.pause;
  if (!state.done()) co_return outcome{};
  co_return co_await add_lengths(result);
}

std::vector<bytes> key_comparer::pick_keys(const std::vector<verdict>& verdicts,
                                           const std::vector<std::size_t>& which) {
  std::vector<bytes> out;
  out.reserve(which.size());
  for (std::size_t i : which) out.push_back(verdicts[i].key);
  return out;
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
  auto [a, b] = co_await (read_lengths(source_, keys, sources, true) &&
                          read_lengths(target_, keys, targets, true));
  if (!a) co_return a;
  if (!b) co_return b;
  for (std::size_t j = 0; j < which.size(); ++j) {
    verdict& v = verdicts[which[j]];
    v.source.length = sources[j].length;
    v.target.length = targets[j].length;
    // As an element-wise comparison says it (deep_compare.cpp), now that the lengths are known.
    if (v.kind == difference::value && v.source.whole && v.target.whole &&
        v.source.length >= 0 && v.target.length >= 0 && v.source.length != v.target.length) {
      v.detail = fmt::format("{} vs {} bytes", v.source.length, v.target.length);
    }
  }
  co_return outcome{};
}

}  // namespace ferry::engine
