#include "engine/verify/verify_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <deque>
#include <iterator>

#include "engine/runtime/channels.hpp"
#include "engine/runtime/pauses.hpp"
#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/task_group.hpp"
#include "engine/verify/key_compare.hpp"
#include "engine/verify/repair.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;

namespace {

using key_list = std::vector<bytes>;
using key_list_channel = asio::experimental::channel<void(boost::system::error_code, key_list)>;

key_list pick(const std::vector<verdict>& verdicts, const std::vector<std::size_t>& which) {
  key_list keys;
  for (std::size_t i : which) keys.push_back(verdicts[i].key);
  return keys;
}

/// Waits, polling every 20 ms, until `ready()` or the job stops, or `limit` has passed.
template <class Ready>
asio::awaitable<void> wait_until(const job_control& control, Ready ready,
                                 std::chrono::milliseconds limit = std::chrono::hours{24 * 365}) {
  constexpr std::chrono::milliseconds poll{20};
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!ready() && !control.stopping() && std::chrono::steady_clock::now() < until) {
    co_await sleep_for(poll);
  }
}

bool cancelled(const extra_gate* gate) {
  return gate != nullptr && gate->now() == extra_gate::state::cancelled;
}

/// SCANs one node and sends its keys in batches, then an end of stream per consumer. With a
/// gate, starts once it is no longer waiting and ends when it is cancelled.
asio::awaitable<void> scan_node(verify_context& ctx, protocol::connection_options node,
                                std::string role, verify_counter counted, key_list_channel& out,
                                unsigned consumers, const extra_gate* gate) {
  if (gate != nullptr) {
    co_await wait_until(ctx.control,
                        [gate] { return gate->now() != extra_gate::state::waiting; });
  }
  link source(co_await asio::this_coro::executor, node, ctx.config.tune, ctx.control);
  const std::string address = node.where.address();
  const std::string& match = ctx.config.match;
  protocol::command_buffer commands;
  std::vector<protocol::reply> replies;
  std::uint64_t cursor = 0;
  do {
    if (ctx.control.stopping() || cancelled(gate)) break;
    commands.clear();
    commands.begin(match.empty() ? 4 : 6);
    commands.arg("SCAN");
    commands.arg(static_cast<std::int64_t>(cursor));
    commands.arg("COUNT");
    commands.arg(static_cast<std::int64_t>(ctx.config.tune.scan_count));
    if (!match.empty()) {
      commands.arg("MATCH");
      commands.arg(match);
    }
    if (auto done = co_await source.exec(commands, replies); !done) {
      ctx.control.fail({done.error().code, fmt::format("scanning the {} {}: {}", role, address,
                                                       done.error().message)});
      break;
    }
    const protocol::reply& scan = replies.front();
    if (scan.is_error() || scan.elements.size() != 2) {
      ctx.control.fail(fail_with(protocol::classify_error_reply(scan.text()),
                                 fmt::format("{} {}: SCAN failed: {}", role, address,
                                             scan.is_error() ? scan.text() : "malformed reply")));
      break;
    }
    const std::string_view next = scan.elements[0].text();
    std::from_chars(next.data(), next.data() + next.size(), cursor);
    // ferry's own keys (a job's marks on the target, sync's probe keys on the source) are not
    // the user's data: neither side's are compared.
    key_list found;
    for (const auto& key : scan.elements[1].elements) {
      if (!is_reserved_key(key.text())) found.push_back(key.str);
    }
    verify_counts counts;
    counts[counted] = found.size();
    ctx.counters.add(counts);
    const std::size_t per_batch = std::max<std::size_t>(ctx.config.tune.batch_keys, 1);
    for (std::size_t at = 0; at < found.size(); at += per_batch) {
      key_list keys(
          found.begin() + static_cast<std::ptrdiff_t>(at),
          found.begin() + static_cast<std::ptrdiff_t>(std::min(found.size(), at + per_batch)));
      auto [ec] = co_await out.async_send(boost::system::error_code{}, std::move(keys),
                                          asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
    }
  } while (cursor != 0);
  co_await end_stream(out, consumers);
}

/// Repairs the repairable differences among `verdicts` (indices `broken`), confirms each
/// repair with a fresh comparison, and records them.
asio::awaitable<bool> repair(verify_context& ctx, routed_side& source, routed_side& target,
                             key_comparer& comparer, std::vector<verdict>& verdicts,
                             const std::vector<std::size_t>& broken, verify_counts& counts) {
  const key_list keys = pick(verdicts, broken);
  auto results = co_await repair_keys(source, target, keys, ctx.compare.source_pexpiretime);
  if (!results) {
    ctx.control.fail(results.error());
    co_return false;
  }
  auto confirmed = co_await comparer.compare_once(keys);
  if (!confirmed) {
    ctx.control.fail(confirmed.error());
    co_return false;
  }
  for (std::size_t j = 0; j < broken.size(); ++j) {
    const verdict& after = (*confirmed)[j];
    const bool ok = (*results)[j].empty() && after.kind == difference::none;
    ++counts[ok ? verify_counter::repaired : verify_counter::repair_failed];
    std::string why = (*results)[j];
    if (why.empty() && !ok) {
      why = fmt::format("still {} after the repair{}", name_of(after.kind),
                        after.detail.empty() ? "" : ": " + after.detail);
    }
    ctx.diffs.record(verdicts[broken[j]], ok, why);
  }
  co_return true;
}

/// Verdicts of a first comparison with differences among them, waiting for their re-check.
struct pending_recheck {
  std::vector<verdict> verdicts;
  std::chrono::steady_clock::time_point first_look;
};
using recheck_channel =
    asio::experimental::channel<void(boost::system::error_code, pending_recheck)>;

/// Counts and records the final verdicts of a batch (repairing first, if asked). Each key is
/// reported once per job (diff_file::claim): one seen again by the other scan is not repeated.
asio::awaitable<void> settle(verify_context& ctx, routed_side& source, routed_side& target,
                             key_comparer& comparer, std::vector<verdict>& verdicts,
                             std::uint64_t deep) {
  verify_counts counts;
  std::vector<std::size_t> broken;
  for (std::size_t i = 0; i < verdicts.size(); ++i) {
    const verdict& v = verdicts[i];
    // The target held it when last read: a key of the target (the proof needs only those; a
    // key left out makes the proof fall back, never pass wrongly).
    if (ctx.present != nullptr && !v.vanished && v.target.exists()) ctx.present->add(v.key.view());
    if (v.vanished) {
      ++counts[verify_counter::vanished];
      continue;
    }
    if (v.kind != difference::none && !ctx.diffs.claim(v.key)) continue;
    ++counts[verify_counter::checked];
    ++counts[counter_of(v.kind)];
    if (v.rounds > 1) ++counts[verify_counter::rechecked];
    if (v.kind == difference::none) continue;
    if (ctx.config.repair && v.kind != difference::changed) {
      broken.push_back(i);
    } else {
      ctx.diffs.record(v);
    }
  }
  if (!broken.empty()) co_await repair(ctx, source, target, comparer, verdicts, broken, counts);
  counts[verify_counter::deep] = deep;
  ctx.counters.add(counts);
}

/// Compares batches once and hands those with differences to the re-checker, so that the
/// pauses before re-checks do not hold up the batches behind them.
asio::awaitable<void> first_looks(verify_context& ctx, key_list_channel& in, recheck_channel& out,
                                  side_probes& probes) {
  auto executor = co_await asio::this_coro::executor;
  routed_side source(executor, ctx.source_map, ctx.config.tune, ctx.control, "source");
  routed_side target(executor, ctx.target_map, ctx.config.tune, ctx.control, "target");
  key_comparer comparer(source, target, ctx.compare, &probes);
  std::uint64_t deep_seen = 0;
  for (;;) {
    auto [ec, keys] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    if (ctx.control.stopping()) continue;  // keep receiving so the scanner is never stuck
    const auto first_look = std::chrono::steady_clock::now();
    auto verdicts = co_await comparer.compare_once(keys);
    for (const auto& warning : comparer.take_warnings()) ctx.warnings.add(warning);
    if (!verdicts) {
      if (!ctx.control.draining()) ctx.control.fail(verdicts.error());
      continue;
    }
    const std::uint64_t deep = comparer.deep_compared() - deep_seen;
    deep_seen = comparer.deep_compared();
    // The equal keys are settled now; only the differing ones wait for their re-checks.
    std::vector<verdict> differing;
    std::erase_if(*verdicts, [&](verdict& v) {
      if (v.kind == difference::none) return false;
      differing.push_back(std::move(v));
      return true;
    });
    co_await settle(ctx, source, target, comparer, *verdicts, deep);
    if (differing.empty()) continue;
    // A named value, moved in: GCC 12 mishandles a braced temporary inside co_await.
    pending_recheck item{std::move(differing), first_look};
    auto [sent] = co_await out.async_send(boost::system::error_code{}, std::move(item),
                                          asio::as_tuple(asio::use_awaitable));
    if (sent) co_return;
  }
  co_await end_stream(out, 1);  // after what is buffered (close() would drop it)
}

/// Re-checks what first_looks found: what arrives together is looked at together, and the
/// looks of different arrivals interleave (each due its pause after the last), so that a live
/// source with differences in every batch does not make the batches wait in line for their
/// pauses. The channel is read at least every `poll` meanwhile: first_looks never waits on it.
asio::awaitable<void> rechecks(verify_context& ctx, recheck_channel& in, side_probes& probes) {
  constexpr std::chrono::milliseconds poll{20};
  auto executor = co_await asio::this_coro::executor;
  routed_side source(executor, ctx.source_map, ctx.config.tune, ctx.control, "source");
  routed_side target(executor, ctx.target_map, ctx.config.tune, ctx.control, "target");
  key_comparer comparer(source, target, ctx.compare, &probes);
  std::uint64_t deep_seen = 0;
  std::vector<recheck_state> waiting;
  bool ended = false;
  // What arrived since the last look, as one re-check.
  pending_recheck arrived;
  const auto take = [&](pending_recheck more) {
    arrived.first_look = arrived.verdicts.empty() ? more.first_look
                                                  : std::min(arrived.first_look, more.first_look);
    std::move(more.verdicts.begin(), more.verdicts.end(), std::back_inserter(arrived.verdicts));
  };
  while (!ended || !waiting.empty()) {
    if (waiting.empty()) {
      auto [ec, first] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      take(std::move(first));
    }
    while (!ended && in.try_receive([&](boost::system::error_code e, pending_recheck more) {
      if (e) {
        ended = true;  // the end of the stream, taken here: stop after what is waiting
        return;
      }
      take(std::move(more));
    })) {
    }
    if (ctx.control.stopping()) {
      // Keep receiving so first_looks is never stuck; a drain leaves these keys uncompared.
      waiting.clear();
      arrived = {};
      continue;
    }
    if (!arrived.verdicts.empty()) {
      waiting.push_back(comparer.begin_recheck(std::move(arrived.verdicts), arrived.first_look));
      arrived = {};
    }
    const auto now = std::chrono::steady_clock::now();
    const auto next = std::min_element(
        waiting.begin(), waiting.end(),
        [](const recheck_state& a, const recheck_state& b) { return a.due < b.due; });
    if (next == waiting.end()) continue;
    if (next->due > now) {
      co_await source.pause(std::min(
          poll, std::chrono::ceil<std::chrono::milliseconds>(next->due - now)));
      continue;
    }
    recheck_state& state = *next;
    auto done = co_await comparer.recheck_round(state);
    for (const auto& warning : comparer.take_warnings()) ctx.warnings.add(warning);
    if (!done) {
      // A drain cuts re-checks short; those keys are then simply not compared.
      if (!ctx.control.draining()) ctx.control.fail(done.error());
      waiting.erase(next);
      continue;
    }
    if (!state.done()) continue;
    const std::uint64_t deep = comparer.deep_compared() - deep_seen;
    deep_seen = comparer.deep_compared();
    std::vector<verdict> verdicts = std::move(state.verdicts);
    waiting.erase(next);
    co_await settle(ctx, source, target, comparer, verdicts, deep);
  }
}

asio::awaitable<void> compare_batches(verify_context& ctx, key_list_channel& in,
                                      side_probes& probes) {
  using namespace asio::experimental::awaitable_operators;
  recheck_channel pending(co_await asio::this_coro::executor, 16);
  co_await (first_looks(ctx, in, pending, probes) && rechecks(ctx, pending, probes));
}

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
      // twice; what is left of all the held batches is looked up together.
      key_list left;
      const key_hash_set* compared = gate != nullptr ? gate->compared() : nullptr;
      for (key_list& batch : held) {
        for (bytes& key : batch) {
          if (compared == nullptr || !compared->contains(key.view())) {
            left.push_back(std::move(key));
          }
        }
      }
      for (std::size_t at = 0; at < left.size(); at += per_batch) {
        key_list some(
            std::make_move_iterator(left.begin() + static_cast<std::ptrdiff_t>(at)),
            std::make_move_iterator(
                left.begin() + static_cast<std::ptrdiff_t>(std::min(left.size(), at + per_batch))));
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

/// Runs a scanner and its consumers; a coroutine that throws stops the job with its message.
template <class Consumer>
asio::awaitable<void> run_stages(verify_context& ctx, protocol::connection_options node,
                                 std::string role, verify_counter counted, unsigned consumers,
                                 const extra_gate* gate, Consumer consume) {
  auto executor = co_await asio::this_coro::executor;
  key_list_channel keys(executor, 2 * consumers);
  task_group stages(executor, [&ctx, &keys, node](std::exception_ptr error) {
    ctx.control.fail(
        fail_with(job_error::internal, fmt::format("internal error while verifying {}: {}",
                                                   node.where.address(), describe(error))));
    keys.close();
  });
  // The node's comparers learn together whether its keys have expiries (side_probes).
  side_probes probes(ctx.compare.prove_no_expiry);
  stages.spawn(scan_node(ctx, node, role, counted, keys, consumers, gate));
  for (unsigned i = 0; i < consumers; ++i) stages.spawn(consume(ctx, keys, probes));
  co_await stages.wait();
}

}  // namespace

asio::awaitable<void> verify_shard(verify_context& context, protocol::connection_options node) {
  co_await run_stages(context, std::move(node), "source", verify_counter::scanned,
                      std::max(1u, context.config.comparers_per_shard), nullptr, compare_batches);
}

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
