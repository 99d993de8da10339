// A sync shard's core: events into the dirty set, re-copies out of it, and the flows' lifetime.
// The subscriber, the stats watch and the probe are in sync_watch.cpp; reconciles in
// reconcile.cpp.

#include "engine/sync/sync_shard.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "engine/cluster/slot_router.hpp"
#include "engine/copy/key_reader.hpp"
#include "engine/copy/shard.hpp"
#include "engine/runtime/channels.hpp"
#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/task_group.hpp"
#include "engine/sync/key_match.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

/// True for a DUMP payload of a stream (RDB types 15, 19 and 21: stream listpacks 1 to 3).
bool is_stream_payload(const protocol::bytes& payload) {
  if (payload.empty()) return false;
  const auto type = static_cast<unsigned char>(payload.data()[0]);
  return type == 15 || type == 19 || type == 21;
}

}  // namespace

sync_shard::sync_shard(const sync_settings& settings, shard_sync_stats& stats, std::size_t index,
                       sync_node home, protocol::slot_set slots, bool probe)
    : settings_(settings),
      stats_(stats),
      index_(index),
      home_(std::move(home)),
      slots_(slots),
      probe_needed_(probe),
      db_(home_.options.where.db),
      dirty_(settings.max_dirty_bytes, settings.hold) {
  stats_.set_node(home_.options.where.address());
}

sync_shard::~sync_shard() = default;

void sync_shard::start_with_gap(gap_record gap) { initial_gaps_.push_back(std::move(gap)); }

void sync_shard::post(std::function<void(sync_shard&)> command) {
  std::lock_guard lock(inbox_mutex_);
  inbox_.push_back(std::move(command));
  if (executor_) asio::post(*executor_, [this] { drain_inbox(); });
}

void sync_shard::drain_inbox() {
  std::vector<std::function<void(sync_shard&)>> commands;
  {
    std::lock_guard lock(inbox_mutex_);
    // After run() has ended (its timers are gone) nothing is left to act on the commands.
    if (!executor_) return;
    commands.swap(inbox_);
  }
  for (auto& command : commands) command(*this);
}

asio::awaitable<bool> sync_shard::wait_subscribed(const job_control& control) {
  // Polled: the scanner may ask before run() has started on this thread.
  asio::steady_timer tick(co_await asio::this_coro::executor);
  while (!stats_.subscribed && !control.stopping()) {
    tick.expires_after(std::chrono::milliseconds{10});
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return !control.stopping();
}

asio::awaitable<void> sync_shard::wait_on(asio::steady_timer& timer, clock::time_point until) {
  timer.expires_at(until);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch())
      .count();
}

void sync_shard::publish() {
  stats_.dirty_keys = dirty_.keys();
  stats_.dirty_bytes = dirty_.bytes();
  stats_.reconciling = pending_.has_value() || reconcile_running_;
  stats_.sweeping = sweep_pending_ || sweep_running_;
}

bool sync_shard::wanted(std::string_view key) const {
  if (settings_.filter_slots && !slots_.test(protocol::key_slot(key))) return false;
  const std::string& match = settings_.copy.match;
  return match.empty() || glob_match(match, key);
}

void sync_shard::on_push(const protocol::push& p) {
  if (p.kind == protocol::push_kind::pong) {
    std::uint64_t token = 0;
    const auto text = p.payload;
    if (!text.empty() &&
        std::from_chars(text.data(), text.data() + text.size(), token).ec == std::errc{}) {
      stats_.fenced = token;
    }
    return;
  }
  if (p.kind != protocol::push_kind::pmessage && p.kind != protocol::push_kind::message) return;
  const auto event = protocol::parse_keyspace_event(p.channel, p.payload, db_);
  if (!event) return;
  if (is_reserved_key(event->key)) {
    if (probing_) probe_seen_.emplace(std::string(event->key), std::string(event->event));
    ++stats_.ignored;
    return;
  }
  if (!wanted(event->key)) {
    ++stats_.ignored;
    return;
  }
  ++stats_.events;
  stats_.last_change_ms = steady_ms();
  if (event->event.starts_with("x")) note_stream(event->key);
  switch (dirty_.mark(event->key, clock::now())) {
    case dirty_set::marked::overflow:
      ++stats_.dropped;
      if (!overflowed_) {
        overflowed_ = true;
        request_reconcile(
            slots_,
            gap_now("dirty_full", fmt::format("the dirty set of shard {} is full ({} keys, {} "
                                              "bytes; --max-dirty-bytes): changes are no "
                                              "longer recorded one by one",
                                              stats_.node(), dirty_.keys(), dirty_.bytes())));
      }
      break;
    default:
      if (snapshot_done_) wake(*work_);
      break;
  }
  publish();
}

void sync_shard::request_reconcile(const protocol::slot_set& slots, gap_record gap) {
  if (gap.slots.empty() && settings_.filter_slots) gap.slots = protocol::slot_text(slots);
  const std::size_t index = stats_.add_gap(std::move(gap));
  if (!pending_) pending_ = pending_reconcile{};
  pending_->slots |= slots;
  pending_->gaps.push_back(index);
  publish();
  if (reconciler_) wake(*reconciler_);
}

void sync_shard::note_stream(std::string_view key) {
  if (streams_overflow_) return;
  if (streams_.contains(std::string(key))) return;
  // Bounded like the dirty set: past it, a sweep scans for streams (SCAN TYPE stream) instead.
  const std::size_t cost = key.size() + dirty_set::entry_overhead;
  if (streams_bytes_ + cost > settings_.max_dirty_bytes / 4) {
    streams_overflow_ = true;
    streams_.clear();
    streams_bytes_ = 0;
    return;
  }
  streams_.emplace(key);
  streams_bytes_ += cost;
}

asio::awaitable<void> sync_shard::recopy(shard_context& shard, record_channel& out) {
  auto executor = co_await asio::this_coro::executor;
  std::optional<key_reader> reader;
  std::uint64_t reader_version = ~std::uint64_t{0};
  std::string label;
  protocol::connection_options source;
  bool use_pexpiretime = shard.use_pexpiretime;
  std::vector<std::string> taken;
  const std::size_t per_batch = std::max<std::size_t>(settings_.copy.tune.batch_keys, 1);
  for (;;) {
    if (stop_) break;
    const auto now = clock::now();
    if (!snapshot_done_ || !dirty_.ready(now)) {
      co_await wait_on(*work_, std::min(dirty_.next_ready(), now + std::chrono::milliseconds{200}));
      continue;
    }
    if (reader_version != home_version_) {
      // A new home (failover): read where the events now come from.
      label = home_.options.where.address();
      source = home_.options;
      reader.emplace(executor, read_context{settings_.copy.tune, shard.index, label, source,
                                            use_pexpiretime, recopy_counters_, shard.control,
                                            shard.failures, shard.warnings, settings_.copy.type});
      reader_version = home_version_;
    }
    taken.clear();
    dirty_.take(per_batch, now, taken);
    publish();
    const std::uint64_t seq = next_seq_++;
    std::vector<protocol::bytes> keys;
    keys.reserve(taken.size());
    for (const auto& key : taken) keys.push_back(protocol::bytes::copy_of(key));
    batch_in_flight& flight = batches_[seq];
    flight.keys = std::move(taken);
    record_batch batch{seq, {}, 0, {}};
    batch.records.reserve(keys.size());
    if (!co_await reader->read(keys, batch, gone_keys::erase)) break;  // the job failed
    for (const record& r : batch.records) {
      if (r.kind == record_kind::erase) {
        ++flight.erased;
      } else if (is_stream_payload(r.payload)) {
        note_stream(r.key.view());
      }
    }
    if (batch.records.empty()) {
      settle_batch(seq, batch.tally);
      continue;
    }
    const std::size_t charged = batch.charged_bytes;
    co_await shard.write.budget.acquire(charged);
    auto [ec] = co_await out.async_send(boost::system::error_code{}, std::move(batch),
                                        asio::as_tuple(asio::use_awaitable));
    if (ec) {
      shard.write.budget.release(charged);
      break;
    }
  }
}

asio::awaitable<void> sync_shard::recopy_stage(shard_context& shard, record_channel& out,
                                               unsigned readers, unsigned writers,
                                               std::function<void(std::exception_ptr)> on_error) {
  // The readers end the record stream for the writers once the last of them is done.
  task_group group(co_await asio::this_coro::executor, std::move(on_error));
  for (unsigned i = 0; i < readers; ++i) group.spawn(recopy(shard, out));
  co_await group.wait();
  co_await end_stream(out, writers);
}

void sync_shard::settle_batch(std::uint64_t seq, const counts& tally) {
  auto node = batches_.extract(seq);
  if (node.empty()) return;
  const auto now = clock::now();
  for (const auto& key : node.mapped().keys) {
    const dirty_set::applied done = dirty_.settle(key, now);
    // Events of the snapshot's time wait for the snapshot by design: the lag that tells how
    // well the sync keeps up runs from the later of the event and the snapshot's end.
    if (done.events != 0) stats_.lag.record(now - std::max(done.oldest, snapshot_done_at_));
  }
  const std::uint64_t erased = std::min<std::uint64_t>(node.mapped().erased, tally.copied);
  stats_.erased += erased;
  stats_.recopied += tally.copied - erased;
  stats_.failed += tally.failed;
  publish();
  check_releases();
  wake(*room_);
  if (dirty_.ready(now)) wake(*work_);
}

void sync_shard::check_releases() {
  for (auto it = releases_.begin(); it != releases_.end();) {
    // Every batch taken before the release is settled: no re-copy of its slots is in flight.
    const bool settled = batches_.empty() || batches_.begin()->first > it->second;
    if (!settled) {
      ++it;
      continue;
    }
    stats_.released = std::max(stats_.released.load(), it->first);
    it = releases_.erase(it);
  }
}

void sync_shard::switch_home(sync_node home, gap_record gap) {
  home_ = std::move(home);
  ++home_version_;
  stats_.set_node(home_.options.where.address());
  // The subscriber closes and comes back on the new home; its reconnect is not a gap of its own.
  if (current_ != nullptr) current_->close();
  request_reconcile(slots_, std::move(gap));
}

void sync_shard::release(const protocol::slot_set& slots, std::uint64_t token) {
  slots_ &= ~slots;
  dirty_.drop_waiting([&](std::string_view key) { return slots.test(protocol::key_slot(key)); });
  releases_.emplace_back(token, next_seq_ - 1);
  check_releases();
  publish();
}

void sync_shard::acquire(const protocol::slot_set& slots) { slots_ |= slots; }

void sync_shard::reconcile(const protocol::slot_set& slots, gap_record gap) {
  request_reconcile(slots, std::move(gap));
}

void sync_shard::fence(std::uint64_t token) {
  if (current_ != nullptr) current_->fence(std::to_string(token));
}

asio::awaitable<void> sync_shard::watch_stop(shard_context& shard) {
  asio::steady_timer tick(co_await asio::this_coro::executor);
  for (;;) {
    drain_inbox();
    if (!snapshot_done_ && shard.finished && shard.ledger.complete()) {
      // The snapshot is settled on the target: re-copies may begin.
      snapshot_done_ = true;
      snapshot_done_at_ = clock::now();
      stats_.snapshot_done = true;
      stats_.phase = static_cast<int>(pending_ ? shard_phase::reconciling : shard_phase::streaming);
      wake(*work_);
      wake(*reconciler_);
    }
    if (shard.control.stopping()) break;
    tick.expires_after(std::chrono::milliseconds{20});
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  stop_ = true;
  if (current_ != nullptr) current_->close();
  if (handover_) handover_->close();
  if (stats_connection_) stats_connection_->close();
  wake(*work_);
  wake(*room_);
  wake(*reconciler_);
  wake(*subscribed_);
}

asio::awaitable<void> sync_shard::run(shard_context& shard) {
  auto executor = co_await asio::this_coro::executor;
  work_ = std::make_unique<asio::steady_timer>(executor);
  room_ = std::make_unique<asio::steady_timer>(executor);
  reconciler_ = std::make_unique<asio::steady_timer>(executor);
  subscribed_ = std::make_unique<asio::steady_timer>(executor);
  source_router_ = std::make_unique<slot_router>(
      executor, settings_.source_seed, settings_.source_map, settings_.copy.tune, shard.control);
  {
    std::lock_guard lock(inbox_mutex_);
    executor_ = executor;
  }
  for (auto& gap : initial_gaps_) request_reconcile(slots_, std::move(gap));
  initial_gaps_.clear();

  const unsigned readers = std::max(1u, std::min(settings_.copy.tune.readers_per_shard, 2u));
  const unsigned writers = std::max(1u, std::min(settings_.copy.tune.writers_per_shard, 2u));
  record_channel records(executor, readers + writers);
  // Always RESTORE ... REPLACE: a re-copy overwrites what the snapshot (or an earlier re-copy)
  // wrote.
  write_context write{.tune = settings_.copy.tune,
                      .policy = existing_policy::replace,
                      .resumed = false,
                      .rescan = false,
                      .index = shard.index,
                      .label = shard.label,
                      .counters = recopy_counters_,
                      .control = shard.control,
                      .failures = shard.failures,
                      .budget = shard.write.budget,
                      .router = shard.write.router,
                      .verify_sample = 0};
  const settled_sink settled = [this](settled_part part) -> asio::awaitable<void> {
    settle_batch(part.seq, part.tally);
    co_return;
  };
  const auto on_error = [&shard, &records, this](std::exception_ptr error) {
    shard.control.fail(fail_with(job_error::internal, fmt::format("internal error in the sync of "
                                                                  "shard {}: {}",
                                                                  stats_.node(), describe(error))));
    records.close();
  };
  task_group flows(executor, on_error);
  extra_ = std::make_unique<task_group>(executor, on_error);
  flows.spawn(watch_stop(shard));
  flows.spawn(subscribe(shard));
  flows.spawn(watch_stats(shard));
  flows.spawn(reconcile_loop(shard));
  flows.spawn(recopy_stage(shard, records, readers, writers, on_error));
  for (unsigned i = 0; i < writers; ++i) flows.spawn(write_batches(write, records, settled));
  co_await flows.wait();
  co_await extra_->wait();
  stats_.subscribed = false;
  // The worker's io_context is destroyed before this shard is (the job owns the shards): what
  // was made on it goes now, and later posts find no executor (ASan: a timer destroyed after its
  // service, in ~sync_shard).
  {
    std::lock_guard lock(inbox_mutex_);
    executor_.reset();
  }
  extra_.reset();
  handover_.reset();
  stats_connection_.reset();
  source_router_.reset();
  subscribed_.reset();
  reconciler_.reset();
  room_.reset();
  work_.reset();
}

}  // namespace ferry::engine
