// The readers: pipelined GET or DUMP, each with PEXPIRETIME (PTTL before Redis 7), on the
// source. Strings are read with GET (read_path.hpp says why and when); the keys that are not
// strings then with DUMP, on the same node, before the batch goes on.

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <span>

#include "engine/cluster/node_links.hpp"
#include "engine/cluster/redirect_round.hpp"
#include "engine/copy/read_outcome.hpp"
#include "engine/copy/shard.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay) {
  if (delay <= std::chrono::steady_clock::duration::zero()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

/// Waits out a rate limit, but wakes early when the job stops: a drain must not wait for the
/// limiter (a slow limit may owe many seconds).
asio::awaitable<void> pause_for(std::chrono::steady_clock::duration delay,
                                const job_control& control) {
  const auto until = std::chrono::steady_clock::now() + delay;
  constexpr std::chrono::milliseconds slice{100};
  for (auto now = std::chrono::steady_clock::now(); now < until && !control.stopping();
       now = std::chrono::steady_clock::now()) {
    co_await sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, slice));
  }
}

/// Reads one key batch: the shard's own node first, then (for keys it redirected) their owners.
class batch_reader {
 public:
  batch_reader(asio::any_io_executor executor, shard_context& shard)
      : shard_(shard),
        source_(executor, shard.source, shard.config.tune, shard.control),
        redirected_(executor, shard.source, shard.config.tune, shard.control),
        round_(home_node::own_node, moved_policy::follow,
               backoff(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                       shard.config.tune.max_retry_time, shard.index)),
        big_key_bytes_(std::max<std::size_t>(std::min(shard.big_key_bytes, shard.budget.capacity()),
                                             std::size_t{64} << 10)) {}

  /// Fills `out` with the keys that still exist (their names are moved out of `batch`), keeping
  /// at most `reservation` bytes in `out` (payloads and names): a payload that does not fit is
  /// left in `batch` and listed in again(); one over --big-key-bytes becomes a `rebuild` record
  /// without its payload. False when the job failed.
  asio::awaitable<bool> read(key_batch& batch, record_batch& out, std::size_t reservation);

  /// Keys of the last read whose payloads did not fit its reservation: their index in the batch
  /// and payload size. Read them again with room for them.
  std::vector<std::pair<std::uint32_t, std::size_t>> take_again() {
    return std::exchange(again_, {});
  }

  std::uint64_t retries() const {
    return source_.retries() + redirected_.retries() + round_.rounds_retried();
  }

 private:
  asio::awaitable<bool> read_group(const round_group& group, key_batch& batch, record_batch& out);
  /// Runs `command` (GET or DUMP) and the expiry command for `keys` of `group` on its node and
  /// settles each key; keys that must be read with DUMP go to `dump_next`. False when the job
  /// failed.
  asio::awaitable<bool> read_keys(const round_group& group, std::span<const std::uint32_t> keys,
                                  bool by_get, key_batch& batch, record_batch& out,
                                  std::vector<std::uint32_t>& dump_next);
  bool fatal(errc kind, std::string message) {
    shard_.control.fail({protocol::make_error_code(kind), std::move(message)});
    return false;
  }

  shard_context& shard_;
  link source_;
  node_links redirected_;  // nodes named by MOVED/ASK
  redirect_round round_;
  std::size_t big_key_bytes_;  // payloads over this are not read: struct mode copies them
  std::size_t reservation_ = 0;
  std::vector<std::pair<std::uint32_t, std::size_t>> again_;
  protocol::command_buffer commands_;
  std::vector<protocol::reply> replies_;
  std::vector<std::uint32_t> dump_next_;
  std::vector<std::uint32_t> unused_;
};

asio::awaitable<bool> batch_reader::read(key_batch& batch, record_batch& out,
                                         std::size_t reservation) {
  reservation_ = reservation;
  again_.clear();
  round_.begin(batch.keys.size());
  for (;;) {
    if (shard_.control.failed()) co_return false;
    for (const round_group& group : round_.plan(nullptr, {})) {
      if (!co_await read_group(group, batch, out)) co_return false;
    }
    const round_outcome next = round_.finish(backoff::clock::now());
    if (next.next == round_outcome::step::done) co_return true;
    if (next.next == round_outcome::step::give_up) {
      co_return fatal(errc::timeout,
                      fmt::format("source {}: {} keys could not be read within --max-retry-time "
                                  "(the cluster kept redirecting or refusing them)",
                                  shard_.label, next.pending));
    }
    co_await sleep_for(next.delay);
  }
}

asio::awaitable<bool> batch_reader::read_group(const round_group& group, key_batch& batch,
                                               record_batch& out) {
  dump_next_.clear();
  if (shard_.paths.next() == read_path::get_first) {
    if (!co_await read_keys(group, group.keys, true, batch, out, dump_next_)) co_return false;
    if (dump_next_.empty()) co_return true;
    const std::vector<std::uint32_t> again = std::move(dump_next_);
    dump_next_.clear();
    co_return co_await read_keys(group, again, false, batch, out, unused_);
  }
  co_return co_await read_keys(group, group.keys, false, batch, out, unused_);
}

asio::awaitable<bool> batch_reader::read_keys(const round_group& group,
                                              std::span<const std::uint32_t> keys, bool by_get,
                                              key_batch& batch, record_batch& out,
                                              std::vector<std::uint32_t>& dump_next) {
  // Fixed for the group: a fallback to PTTL decided on its replies applies to the next round.
  const bool absolute = shard_.use_pexpiretime;
  const std::string_view expiry = absolute ? "PEXPIRETIME" : "PTTL";
  const std::string_view command = by_get ? "GET" : "DUMP";
  commands_.clear();
  for (const std::uint32_t index : keys) {
    if (group.asking) commands_.push({"ASKING"});
    commands_.begin(2);
    commands_.arg(command);
    commands_.arg_ref(batch.keys[index]);
    if (group.asking) commands_.push({"ASKING"});  // ASKING lets only the next command in
    commands_.begin(2);
    commands_.arg(expiry);
    commands_.arg_ref(batch.keys[index]);
  }
  link& node = redirected_.to(group, nullptr, &source_);
  // The replies keep no more than the reservation has room for (a budget of 0 would mean none).
  std::size_t names = 0;
  for (const std::uint32_t index : group.keys) names += batch.keys[index].size();
  const std::size_t used = out.charged_bytes + names;
  node.connection().keep_bulks({.skip_over = big_key_bytes_,
                                .budget = reservation_ > used ? reservation_ - used : 1,
                                .keep_first = false});
  // Reads may run twice: the link retries the whole pipeline after a broken connection.
  if (auto done = co_await node.exec(commands_, replies_); !done) {
    shard_.control.fail(
        {done.error().code, fmt::format("reading from the source: {}", done.error().message)});
    co_return false;
  }
  if (by_get) {
    shard_.commands.add_get(keys.size());
  } else {
    shard_.commands.add_dump(keys.size());
  }
  shard_.commands.add_expiry(keys.size());
  if (group.asking) shard_.commands.add_asking(2 * keys.size());
  const std::int64_t read_at = now_ms();
  std::size_t strings = 0;
  std::size_t others = 0;
  std::size_t at = 0;
  for (const std::uint32_t index : keys) {
    if (group.asking) ++at;
    protocol::reply& value = replies_[at++];
    if (group.asking) ++at;
    const protocol::reply& ttl = replies_[at++];
    protocol::bytes& key = batch.keys[index];
    const read_outcome outcome = by_get ? judge_get(value, ttl, absolute, read_at)
                                        : judge_read(value, ttl, absolute, read_at);
    switch (outcome.action) {
      case read_action::redirect:
        // The slot lives elsewhere now (failover, resharding): read the key where it is.
        if (outcome.to) {
          round_.redirect(index, *outcome.to, node.connection().where().host);
        } else {
          round_.retry_same(index, group);
        }
        continue;
      case read_action::retry:
        round_.retry_same(index, group);
        continue;
      case read_action::dump:
        // Another type (WRONGTYPE), or a string near its expiry: its DUMP tells which.
        dump_next.push_back(index);
        continue;
      case read_action::fail_key:
        shard_.failures.record(shard_.label, key.view(), protocol::errc_name(outcome.error),
                               outcome.reply_text);
        shard_counters::add(shard_.counters.failed, 1);
        ++out.tally.failed;
        continue;
      case read_action::fatal:
        if (outcome.on_expiry && absolute &&
            (outcome.error == errc::unknown_command || outcome.error == errc::no_permission)) {
          // PEXPIRETIME renamed, disabled or not allowed: read expiries with PTTL, as on
          // servers before 7 (every version answers it).
          if (shard_.use_pexpiretime) {
            shard_.use_pexpiretime = false;
            shard_.warnings.add(fmt::format(
                "source {} refuses PEXPIRETIME ({}): ferry reads expiries with PTTL instead, made "
                "absolute at the moment of the read (exact to a few milliseconds)",
                node.address(), outcome.reply_text));
          }
          round_.retry_same(index, group);
          continue;
        }
        if (by_get && !outcome.on_expiry &&
            (outcome.error == errc::unknown_command || outcome.error == errc::no_permission)) {
          // GET renamed or not allowed (an ACL written for DUMP-based tools): every key is
          // read with DUMP, as before ferry had a string path.
          if (shard_.paths.allowed()) {
            shard_.paths.forbid();
            shard_.warnings.add(fmt::format(
                "source {} refuses GET ({}): ferry reads strings with DUMP instead, which costs "
                "the source more (allow +get for the user to read strings cheaply)",
                node.address(), outcome.reply_text));
          }
          dump_next.push_back(index);
          continue;
        }
        co_return fatal(outcome.error,
                        fmt::format("source {}: {} refused: {}{}", node.address(),
                                    outcome.on_expiry ? expiry : command, outcome.reply_text,
                                    protocol::refusal_advice(outcome.error, outcome.reply_text)));
      case read_action::vanished:
        shard_counters::add(shard_.counters.vanished, 1);
        ++out.tally.vanished;
        continue;
      case read_action::value:
        break;
    }
    if (value.is_skipped()) {
      const auto size = static_cast<std::size_t>(value.integer);
      if (size <= big_key_bytes_) {
        again_.emplace_back(index, size);  // did not fit this reservation
        continue;
      }
      // Too big to hold: struct mode copies it in chunks, from the source again. Its type byte
      // came with the skipped reply (a GET's is a string's).
      out.charged_bytes += key.size();
      const std::uint16_t slot = protocol::key_slot(key.view());
      const auto type = by_get            ? std::uint8_t{0}
                        : value.str.empty() ? unknown_rdb_type
                                            : static_cast<std::uint8_t>(value.str.data()[0]);
      ++(type == 0 ? strings : others);
      out.records.push_back({std::move(key),
                             {},
                             outcome.expire_at_ms,
                             slot,
                             record_kind::rebuild,
                             rebuild_reason::big_key,
                             type,
                             size});
      continue;
    }
    // A DUMP payload begins with its RDB type; 0 is a string.
    const bool string = by_get || (!value.str.empty() && value.str.view().front() == '\0');
    ++(string ? strings : others);
    out.charged_bytes += value.str.size() + key.size();
    // Moved, not copied: each copy of a `bytes` costs an atomic reference count pair per key.
    // The key is settled here, so no retry round needs its name again.
    const std::uint16_t slot = protocol::key_slot(key.view());
    out.records.push_back({std::move(key), std::move(value.str), outcome.expire_at_ms, slot,
                           by_get ? record_kind::string : record_kind::restore});
  }
  shard_.paths.observe(strings, others);
  co_return true;
}

}  // namespace

asio::awaitable<void> read_batches(shard_context& shard, key_channel& in, record_channel& out,
                                   event_channel& events) {
  auto executor = co_await asio::this_coro::executor;
  batch_reader reader(executor, shard);
  std::uint64_t retries_seen = 0;
  for (;;) {
    auto [receive_ec, batch] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (receive_ec) break;
    // Failed or stopping (SIGINT/SIGTERM): keys not read yet are left for the next run (their
    // part stays open, so no checkpoint passes them); the channel is still emptied so that the
    // scanner is never stuck. What was read is still written: that is the drain.
    if (shard.control.stopping()) continue;

    if (shard.limiter.active()) {
      co_await pause_for(shard.limiter.take(batch.keys.size(), 0, rate_limiter::clock::now()),
                         shard.control);
      if (shard.control.stopping()) continue;  // stopped while it waited
    }
    const auto started = std::chrono::steady_clock::now();
    // The memory bound holds before anything is read: the batch's expected weight is reserved
    // first, and its replies keep no more.
    const std::size_t keys_read = batch.keys.size();
    const std::size_t capacity = std::max<std::size_t>(shard.budget.capacity(), 1);
    std::size_t held = std::min(shard.sizing.reservation(keys_read), capacity);
    co_await shard.budget.acquire(held);
    record_batch records{batch.scan_seq, {}, 0, {}};
    records.records.reserve(keys_read);
    bool read = co_await reader.read(batch, records, held);
    // Payloads that did not fit are read again, with room reserved for what they weigh.
    auto again = reader.take_again();
    for (; read && !again.empty() && !shard.control.stopping(); again = reader.take_again()) {
      key_batch retry{batch.scan_seq, {}};
      std::size_t need = 0;
      for (const auto& [index, size] : again) {
        need += size + batch.keys[index].size();
        retry.keys.push_back(std::move(batch.keys[index]));
      }
      const std::size_t extra = std::min(need, capacity);
      co_await shard.budget.acquire(extra);
      held += extra;
      batch = std::move(retry);
      read = co_await reader.read(batch, records, records.charged_bytes + extra);
    }
    shard_counters::add(shard.counters.retries, reader.retries() - retries_seen);
    retries_seen = reader.retries();
    // A part is settled only when nothing of it is left to write; after a failure (or a stop
    // before every key was read) it stays open so that no checkpoint ever passes its keys.
    if (!read || shard.control.failed() || !again.empty()) {
      shard.budget.release(held);
      continue;
    }
    // What the records hold stays reserved until a writer has written them.
    if (records.charged_bytes < held) shard.budget.release(held - records.charged_bytes);
    if (records.charged_bytes > held) co_await shard.budget.acquire(records.charged_bytes - held);

    shard.sizing.observe(keys_read, records.charged_bytes);
    if (shard.limiter.active() && records.charged_bytes != 0) {
      co_await pause_for(shard.limiter.take(0, records.charged_bytes, rate_limiter::clock::now()),
                         shard.control);
    }
    if (shard.pace.slowdown > 1) {
      // The source answers slowly: leave it idle (slowdown - 1) times as long as we kept it busy.
      co_await sleep_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          (std::chrono::steady_clock::now() - started) * (shard.pace.slowdown - 1)));
    }
    if (records.records.empty()) {
      shard.budget.release(records.charged_bytes);
      co_await events.async_send(boost::system::error_code{},
                                 settled_part{records.scan_seq, records.tally, {}},
                                 asio::as_tuple(asio::use_awaitable));
      continue;
    }
    const std::size_t charged = records.charged_bytes;
    auto [send_ec] = co_await out.async_send(boost::system::error_code{}, std::move(records),
                                             asio::as_tuple(asio::use_awaitable));
    if (send_ec) shard.budget.release(charged);
  }
}

}  // namespace ferry::engine
