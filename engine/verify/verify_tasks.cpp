#include "engine/verify/verify_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <iterator>

#include "engine/runtime/channels.hpp"
#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/task_group.hpp"
#include "engine/verify/repair.hpp"
#include "engine/verify/verify_stages.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::bytes;
using namespace verify_stages;

namespace {

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

}  // namespace

namespace verify_stages {

key_list pick(const std::vector<verdict>& verdicts, const std::vector<std::size_t>& which) {
  key_list keys;
  for (std::size_t i : which) keys.push_back(verdicts[i].key);
  return keys;
}

asio::awaitable<void> run_stages(verify_context& ctx, protocol::connection_options node,
                                 std::string role, verify_counter counted, unsigned consumers,
                                 const extra_gate* gate, consumer consume) {
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

}  // namespace verify_stages

asio::awaitable<void> verify_shard(verify_context& context, protocol::connection_options node) {
  co_await run_stages(context, std::move(node), "source", verify_counter::scanned,
                      std::max(1u, context.config.comparers_per_shard), nullptr, compare_batches);
}

}  // namespace ferry::engine
