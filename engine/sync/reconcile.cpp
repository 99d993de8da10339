// A sync shard's reconciles: after a gap, every key of the shard's slots is compared between
// source and target with the verifier's machinery (key_comparer: server-side digests, type and
// expiry), and every key that differs, or exists on one side only, is marked dirty, so that the
// re-copy path — the only writer — makes the target equal. Events keep flowing meanwhile. And
// the stream sweeps: consumer groups changed by XACK, XCLAIM or XREADGROUP publish no event, so
// the streams the shard knows are compared when INFO commandstats shows such commands ran.

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "engine/cluster/link.hpp"
#include "engine/cluster/routed_side.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/copy/shard.hpp"
#include "engine/runtime/reserved_keys.hpp"
#include "engine/sync/sync_shard.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

/// Keys compared per round trip: digests make the servers DUMP each key, so not too many.
constexpr std::size_t compare_batch = 256;

std::int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// One SCAN call on `node`: the keys into `keys` (appended), the next cursor returned; a failure
/// stops the job and returns nothing.
asio::awaitable<std::optional<std::uint64_t>> scan_once(link& node, job_control& control,
                                                        std::uint64_t cursor,
                                                        const std::string& match,
                                                        std::string_view type, unsigned count,
                                                        std::vector<protocol::bytes>& keys) {
  protocol::command_buffer commands;
  commands.begin(4 + (match.empty() ? 0 : 2) + (type.empty() ? 0 : 2));
  commands.arg("SCAN");
  commands.arg(static_cast<std::int64_t>(cursor));
  commands.arg("COUNT");
  commands.arg(static_cast<std::int64_t>(count));
  if (!match.empty()) {
    commands.arg("MATCH");
    commands.arg(match);
  }
  if (!type.empty()) {
    commands.arg("TYPE");
    commands.arg(type);
  }
  std::vector<protocol::reply> replies;
  if (auto done = co_await node.exec(commands, replies); !done) {
    if (!control.stopping()) control.fail(done.error());
    co_return std::nullopt;
  }
  const protocol::reply& scan = replies.front();
  if (scan.is_error() || scan.elements.size() != 2) {
    control.fail(fail_with(protocol::classify_error_reply(scan.text()),
                           fmt::format("{}: SCAN failed: {}", node.address(),
                                       scan.is_error() ? scan.text() : "malformed reply")));
    co_return std::nullopt;
  }
  std::uint64_t next = 0;
  const std::string_view text = scan.elements[0].text();
  std::from_chars(text.data(), text.data() + text.size(), next);
  for (const auto& key : scan.elements[1].elements) keys.push_back(key.str);
  co_return next;
}

}  // namespace

asio::awaitable<bool> sync_shard::mark_waiting(const protocol::bytes& key) {
  // A reconcile waits for room rather than overflowing: the re-copies it feeds make room.
  while (!dirty_.has_room(key.view())) {
    if (stop_) co_return false;
    co_await wait_on(*room_, clock::now() + std::chrono::milliseconds{200});
  }
  if (stop_) co_return false;
  dirty_.mark(key.view(), clock::now(), /*event=*/false);
  ++stats_.reconcile_marked;
  stats_.last_change_ms = steady_ms();
  if (snapshot_done_) wake(*work_);
  publish();
  co_return true;
}

asio::awaitable<void> sync_shard::reconcile_loop(shard_context& shard) {
  while (!stop_) {
    if (!snapshot_done_ || (!pending_ && !sweep_pending_)) {
      co_await wait_on(*reconciler_, clock::now() + std::chrono::milliseconds{500});
      continue;
    }
    if (pending_) {
      const pending_reconcile job = std::move(*pending_);
      pending_.reset();
      reconcile_running_ = true;
      overflowed_ = false;     // what the full dirty set refused, this reconcile finds
      sweep_pending_ = false;  // and it compares the streams too
      stats_.phase = static_cast<int>(shard_phase::reconciling);
      publish();
      co_await run_reconcile(shard, job.slots, job.gaps);
      reconcile_running_ = false;
      if (!pending_) stats_.phase = static_cast<int>(shard_phase::streaming);
      publish();
      continue;
    }
    sweep_pending_ = false;
    sweep_running_ = true;
    ++stats_.stream_sweeps;
    publish();
    co_await run_sweep(shard);
    sweep_running_ = false;
    publish();
  }
}

asio::awaitable<void> sync_shard::run_reconcile(shard_context& shard,
                                                const protocol::slot_set& slots,
                                                const std::vector<std::size_t>& gaps) {
  auto executor = co_await asio::this_coro::executor;
  const tuning& tune = settings_.copy.tune;
  job_control& control = shard.control;
  for (const auto g : gaps)
    stats_.update_gap(g, [](gap_record& r) { r.reconcile_started_ms = unix_ms(); });
  routed_side source(executor, *source_router_, tune, control, "source");
  routed_side target(executor, shard.write.router, tune, control, "target");
  key_comparer comparer(source, target, settings_.compare);
  std::uint64_t compared = 0, marked = 0;
  const auto report = [&] {
    for (const auto g : gaps) {
      stats_.update_gap(g, [&](gap_record& r) {
        r.compared = compared;
        r.marked = marked;
      });
    }
  };

  // The source's keys: those that differ on the target, or are missing there.
  link home(executor, home_.options, tune, control);
  std::uint64_t cursor = 0;
  std::vector<protocol::bytes> found, batch;
  do {
    if (stop_) co_return;
    found.clear();
    const auto next = co_await scan_once(home, control, cursor, settings_.copy.match,
                                         settings_.copy.type, tune.scan_count, found);
    if (!next) co_return;
    cursor = *next;
    batch.clear();
    for (auto& key : found) {
      if (!is_reserved_key(key.view()) &&
          (!settings_.filter_slots || slots.test(protocol::key_slot(key.view())))) {
        batch.push_back(std::move(key));
      }
    }
    for (std::size_t at = 0; at < batch.size(); at += compare_batch) {
      const auto part = std::span<const protocol::bytes>(batch).subspan(
          at, std::min(compare_batch, batch.size() - at));
      auto verdicts = co_await comparer.compare_once(part);
      for (const auto& warning : comparer.take_warnings()) shard.warnings.add(warning);
      if (!verdicts) {
        if (!control.stopping()) control.fail(verdicts.error());
        co_return;
      }
      for (const verdict& v : *verdicts) {
        ++compared;
        if (v.kind == difference::none && !v.vanished) continue;
        if (!co_await mark_waiting(v.key)) co_return;
        ++marked;
      }
    }
    report();
  } while (cursor != 0);

  // The target's keys of the shard's slots that the source lacks: the re-copy deletes them.
  const std::vector<protocol::cluster_node> masters = shard.write.router.map().masters();
  std::vector<protocol::reply> exists;
  for (const auto& master : masters) {
    link node(executor,
              protocol::at_node(shard.write.router.seed(), master.where.host, master.where.port),
              tune, control);
    cursor = 0;
    do {
      if (stop_) co_return;
      found.clear();
      const auto next = co_await scan_once(node, control, cursor, settings_.copy.match,
                                           settings_.copy.type, tune.scan_count, found);
      if (!next) co_return;
      cursor = *next;
      batch.clear();
      for (auto& key : found) {
        if (!is_reserved_key(key.view()) &&
            (!settings_.filter_slots || slots.test(protocol::key_slot(key.view())))) {
          batch.push_back(std::move(key));
        }
      }
      if (batch.empty()) continue;
      const key_encoder encode = [&](std::size_t i, protocol::command_buffer& c) {
        c.begin(2);
        c.arg("EXISTS");
        c.arg_ref(batch[i]);
      };
      if (auto done = co_await source.run(batch, 1, encode, exists); !done) {
        if (!control.stopping()) control.fail(done.error());
        co_return;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        ++compared;
        if (exists[i].is_error() || exists[i].integer != 0) continue;
        if (!co_await mark_waiting(batch[i])) co_return;
        ++marked;
      }
      report();
    } while (cursor != 0);
  }
  report();
  for (const auto g : gaps)
    stats_.update_gap(g, [](gap_record& r) { r.reconcile_finished_ms = unix_ms(); });
}

asio::awaitable<void> sync_shard::run_sweep(shard_context& shard) {
  auto executor = co_await asio::this_coro::executor;
  const tuning& tune = settings_.copy.tune;
  job_control& control = shard.control;
  std::vector<protocol::bytes> keys;
  if (streams_overflow_) {
    // Too many streams to keep their names: find them again.
    link home(executor, home_.options, tune, control);
    std::uint64_t cursor = 0;
    do {
      if (stop_) co_return;
      const auto next = co_await scan_once(home, control, cursor, settings_.copy.match, "stream",
                                           tune.scan_count, keys);
      if (!next) co_return;
      cursor = *next;
    } while (cursor != 0);
  } else {
    for (const auto& name : streams_) keys.push_back(protocol::bytes::copy_of(name));
  }
  routed_side source(executor, *source_router_, tune, control, "source");
  routed_side target(executor, shard.write.router, tune, control, "target");
  key_comparer comparer(source, target, settings_.compare);
  for (std::size_t at = 0; at < keys.size(); at += compare_batch) {
    if (stop_) co_return;
    const auto part = std::span<const protocol::bytes>(keys).subspan(
        at, std::min(compare_batch, keys.size() - at));
    auto verdicts = co_await comparer.compare_once(part);
    if (!verdicts) {
      if (!control.stopping()) control.fail(verdicts.error());
      co_return;
    }
    for (const verdict& v : *verdicts) {
      if (!v.source.exists() && !streams_overflow_) {
        streams_bytes_ -= std::min(streams_bytes_, v.key.size() + dirty_set::entry_overhead);
        streams_.erase(v.key.str());
      }
      if (v.kind == difference::none && !v.vanished) continue;
      if (!wanted(v.key.view())) continue;
      if (!co_await mark_waiting(v.key)) co_return;
    }
  }
}

asio::awaitable<void> sync_shard::scan_streams(shard_context& shard) {
  auto executor = co_await asio::this_coro::executor;
  link home(executor, home_.options, settings_.copy.tune, shard.control);
  std::vector<protocol::bytes> keys;
  std::uint64_t cursor = 0;
  do {
    if (stop_) co_return;
    keys.clear();
    const auto next = co_await scan_once(home, shard.control, cursor, settings_.copy.match,
                                         "stream", settings_.copy.tune.scan_count, keys);
    if (!next) co_return;
    cursor = *next;
    for (const auto& key : keys) {
      if (!is_reserved_key(key.view()) && wanted(key.view())) note_stream(key.view());
    }
  } while (cursor != 0);
  // An XACK while the names were gathered may have hit a stream found only now.
  sweep_pending_ = true;
  publish();
  if (reconciler_) wake(*reconciler_);
}

}  // namespace ferry::engine
