// The search for keys only the target holds: its scan (held, with a gate, until the extra-key
// proof is judged), the lookups on the source, the second looks, and the watch that may start
// the scan early (the comparison: verify_tasks.cpp).

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <iterator>

#include "engine/runtime/channels.hpp"
#include "engine/verify/repair.hpp"
#include "engine/verify/verify_stages.hpp"
#include "engine/verify/verify_tasks.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using namespace verify_stages;

namespace {

/// Keys of the target absent from the source at a first look, waiting for the second one.
struct pending_absent {
  key_list keys;
  std::chrono::steady_clock::time_point first_look;
};
using absent_channel = asio::experimental::channel<void(boost::system::error_code, pending_absent)>;

/// Looks `keys` (of the target) up on the source and hands those absent there to
/// confirm_extras; false when it has gone.
asio::awaitable<bool> look_up_on_source(verify_context& ctx, routed_side& source, key_list keys,
                                        absent_channel& out) {
  std::vector<protocol::reply> replies;
  // A standalone source answers for the whole batch in one command (what a copy costs the
  // source matters: verify should cost it no more); only a batch with keys missing there is
  // looked up key by key.
  if (!ctx.source_map.map().is_cluster() && keys.size() > 1) {
    const key_encoder all = [&](std::size_t, protocol::command_buffer& c) {
      c.begin(1 + keys.size());
      c.arg("EXISTS");
      for (const bytes& key : keys) c.arg_ref(key);
    };
    if (auto done = co_await source.run_one(keys.front(), 1, all, replies); !done) {
      ctx.control.fail(done.error());
      co_return true;
    }
    if (replies.front().is_error()) {
      ctx.control.fail(
          fail_with(protocol::classify_error_reply(replies.front().text()),
                    fmt::format("the source refused EXISTS: {}", replies.front().text())));
      co_return true;
    }
    if (replies.front().integer == static_cast<std::int64_t>(keys.size())) co_return true;
  }
  const key_encoder exists = [&](std::size_t i, protocol::command_buffer& c) {
    c.begin(2);
    c.arg("EXISTS");
    c.arg_ref(keys[i]);
  };
  if (auto done = co_await source.run(keys, 1, exists, replies); !done) {
    ctx.control.fail(done.error());
    co_return true;
  }
  key_list absent;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (replies[i].is_error()) {
      ctx.control.fail(fail_with(protocol::classify_error_reply(replies[i].text()),
                                 fmt::format("the source refused EXISTS: {}", replies[i].text())));
      break;
    }
    if (replies[i].integer == 0) absent.push_back(keys[i]);
  }
  if (absent.empty() || ctx.control.stopping()) co_return true;
  const auto first_look = std::chrono::steady_clock::now();
  pending_absent item{std::move(absent), first_look};  // named: see first_looks
  auto [sent] = co_await out.async_send(boost::system::error_code{}, std::move(item),
                                        asio::as_tuple(asio::use_awaitable));
  co_return !sent;
}

/// Looks up each batch of the target's keys on the source as it comes, so that confirm_extras'
/// pause does not hold up the next batches. With a gate, holds the batches (up to
/// extra_gate::hold_bytes of names, then waits) until it is decided: looks up together those
/// the comparison did not find once it is open, drops them if it is cancelled.
asio::awaitable<void> extra_first_looks(verify_context& ctx, key_list_channel& in,
                                        absent_channel& out) {
  auto executor = co_await asio::this_coro::executor;
  routed_side source(executor, ctx.source_map, ctx.config.tune, ctx.control, "source");
  const extra_gate* gate = ctx.gate;
  const std::size_t per_batch = std::max<std::size_t>(ctx.config.tune.batch_keys, 1);
  std::vector<key_list> held;
  std::size_t held_bytes = 0;
  for (bool ended = false; !ended;) {
    auto [ec, keys] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    ended = static_cast<bool>(ec);
    if (!ended && !ctx.control.stopping()) {
      for (const bytes& key : keys) held_bytes += key.size() + sizeof(bytes);
      held.push_back(std::move(keys));
    }
    if (gate != nullptr && !gate->decided()) {
      if (!ended && held_bytes < extra_gate::hold_bytes) continue;
      co_await wait_until(ctx.control, [gate] { return gate->decided(); });
    }
    if (!ctx.control.stopping() && !cancelled(gate)) {
      // Keys the comparison already saw on both sides are not extra, and not to be reported
      // twice; what is left of all the held batches is looked up together (without a gate: the
      // one batch as it came).
      const key_hash_set* compared = gate != nullptr ? gate->compared() : nullptr;
      key_list left;
      for (key_list& batch : held) {
        if (compared != nullptr) {
          std::erase_if(batch, [&](const bytes& key) { return compared->contains(key.view()); });
        }
        if (left.empty()) {
          left = std::move(batch);
        } else {
          std::move(batch.begin(), batch.end(), std::back_inserter(left));
        }
      }
      while (!left.empty()) {
        key_list some;
        if (left.size() <= per_batch) {
          some = std::move(left);
          left.clear();
        } else {
          const auto cut = left.end() - static_cast<std::ptrdiff_t>(per_batch);
          some.assign(std::make_move_iterator(cut), std::make_move_iterator(left.end()));
          left.erase(cut, left.end());
        }
        if (!co_await look_up_on_source(ctx, source, std::move(some), out)) co_return;
      }
    }
    held.clear();
    held_bytes = 0;
  }
  co_await end_stream(out, 1);
}

/// Looks at `absent` (target keys the source lacked at a first look) again and reports (or
/// deletes) those still only on the target.
asio::awaitable<void> settle_extras(verify_context& ctx, routed_side& target, key_comparer& looker,
                                    const key_list& absent) {
  auto seen = co_await looker.compare_once(absent);
  if (!seen) {
    ctx.control.fail(seen.error());
    co_return;
  }
  std::vector<verdict> extras;
  for (verdict& v : *seen) {
    if (v.source.exists() || !v.target.exists()) continue;
    if (!ctx.diffs.claim(v.key)) continue;  // already reported by the source's comparison
    v.kind = difference::extra;
    v.vanished = false;
    extras.push_back(std::move(v));
  }
  verify_counts counts;
  counts[verify_counter::extra] = extras.size();
  if (ctx.config.delete_extra && !extras.empty()) {
    std::vector<std::size_t> all(extras.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    const key_list doomed = pick(extras, all);
    auto results = co_await delete_keys(target, doomed);
    if (!results) {
      ctx.control.fail(results.error());
      co_return;
    }
    auto after = co_await looker.compare_once(doomed);
    if (!after) {
      ctx.control.fail(after.error());
      co_return;
    }
    for (std::size_t i = 0; i < extras.size(); ++i) {
      const bool ok = (*results)[i].empty() && !(*after)[i].target.exists();
      ++counts[ok ? verify_counter::repaired : verify_counter::repair_failed];
      ctx.diffs.record(extras[i], ok,
                       ok                      ? std::string{}
                       : (*results)[i].empty() ? "still on the target after DEL"
                                               : (*results)[i]);
    }
  } else {
    for (const verdict& v : extras) ctx.diffs.record(v);
  }
  ctx.counters.add(counts);
}

/// The second look at keys absent from the source (it may have created them a moment ago, or
/// the target be about to lose them: a sync deleting them), after a pause counted from their
/// first look. What arrives while the earliest waits is taken in meanwhile (every `poll`), so
/// that extra_first_looks is never held up by the pauses, and every group due is looked at
/// together; only past `most_waiting` keys does it stop taking more until those are done.
asio::awaitable<void> confirm_extras(verify_context& ctx, absent_channel& in,
                                     side_probes& probes) {
  constexpr std::chrono::milliseconds poll{20};
  constexpr std::size_t most_waiting = std::size_t{1} << 16;
  auto executor = co_await asio::this_coro::executor;
  routed_side source(executor, ctx.source_map, ctx.config.tune, ctx.control, "source");
  routed_side target(executor, ctx.target_map, ctx.config.tune, ctx.control, "target");
  compare_options quick = ctx.compare;
  quick.mode = compare_mode::quick;
  key_comparer looker(source, target, quick, &probes);
  std::deque<pending_absent> waiting;  // in the order of their first looks
  std::size_t waiting_keys = 0;
  bool ended = false;
  const auto take = [&](pending_absent more) {
    waiting_keys += more.keys.size();
    waiting.push_back(std::move(more));
  };
  while (!ended || !waiting.empty()) {
    if (waiting.empty()) {
      auto [ec, first] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      take(std::move(first));
    }
    while (!ended && waiting_keys < most_waiting &&
           in.try_receive([&](boost::system::error_code e, pending_absent more) {
             if (e) {
               ended = true;  // the end of the stream: stop after what is waiting
               return;
             }
             take(std::move(more));
           })) {
    }
    if (ctx.control.stopping()) {
      waiting.clear();  // keep receiving so extra_first_looks is never stuck
      waiting_keys = 0;
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    const auto due = waiting.front().first_look + ctx.compare.recheck_pause;
    if (due > now) {
      co_await target.pause(
          std::min(poll, std::chrono::ceil<std::chrono::milliseconds>(due - now)));
      continue;
    }
    key_list absent;
    while (!waiting.empty() && waiting.front().first_look + ctx.compare.recheck_pause <= now) {
      pending_absent& group = waiting.front();
      waiting_keys -= group.keys.size();
      std::move(group.keys.begin(), group.keys.end(), std::back_inserter(absent));
      waiting.pop_front();
    }
    co_await settle_extras(ctx, target, looker, absent);
  }
}

asio::awaitable<void> check_extra_keys(verify_context& ctx, key_list_channel& in,
                                       side_probes& probes) {
  using namespace asio::experimental::awaitable_operators;
  absent_channel pending(co_await asio::this_coro::executor, 16);
  co_await (extra_first_looks(ctx, in, pending) && confirm_extras(ctx, pending, probes));
}

}  // namespace

asio::awaitable<void> find_extra_keys(verify_context& context, protocol::connection_options node) {
  co_await run_stages(context, std::move(node), "target", verify_counter::target_scanned, 1,
                      context.gate, check_extra_keys);
}

asio::awaitable<void> start_on_writes(verify_context& ctx, extra_gate& gate,
                                      watched_sides sides) {
  constexpr std::chrono::milliseconds every{250};
  auto executor = co_await asio::this_coro::executor;
  node_state_reader source(executor, sides.source, sides.source_masters, "source");
  node_state_reader target(executor, sides.target, sides.target_masters, "target");
  auto source_first = co_await source.read();
  auto target_first = co_await target.read();
  // True when a master was written or changed since the first read.
  const auto moved = [](const std::vector<node_state>& first, const std::vector<node_state>& now) {
    if (first.size() != now.size()) return true;
    for (std::size_t i = 0; i < now.size(); ++i) {
      if (node_moved(first[i], now[i])) return true;
    }
    return false;
  };
  // A side that fails a read is no longer watched.
  bool watching_source = source_first.has_value();
  bool watching_target = target_first.has_value();
  bool written = false;
  while (!written && (watching_source || watching_target) &&
         gate.now() == extra_gate::state::waiting && !ctx.control.stopping()) {
    co_await wait_until(
        ctx.control, [&gate] { return gate.now() != extra_gate::state::waiting; }, every);
    if (gate.now() != extra_gate::state::waiting) break;
    if (watching_source) {
      auto now = co_await source.read();
      watching_source = now.has_value();
      written = watching_source && moved(*source_first, *now);
    }
    if (!written && watching_target) {
      auto now = co_await target.read();
      watching_target = now.has_value();
      written = watching_target && moved(*target_first, *now);
    }
  }
  if (written) gate.start();
}

}  // namespace ferry::engine
