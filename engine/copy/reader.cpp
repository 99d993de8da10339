// The readers: pipelined GET or DUMP, each with PEXPIRETIME (PTTL before Redis 7), on the source
// (key_reader), and the shard's reader stage that feeds them the scanner's key batches. Strings
// are read with GET (read_path.hpp says why and when); the keys that are not strings then with
// DUMP, on the same node, before the batch goes on.

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
#include "engine/copy/key_reader.hpp"
#include "engine/copy/read_outcome.hpp"
#include "engine/copy/shard.hpp"
#include "engine/runtime/pauses.hpp"
#include "engine/runtime/wall_clock.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// Room in a pass's reply budget for its INFO replies (INFO stats is about 2.5 KB on 7.4, INFO
/// server 1.5 KB): they are read and dropped at once, never held with the batch.
constexpr std::size_t info_reply_room = 16 << 10;

/// The reply an expiry command gives for a key without one (PEXPIRETIME and PTTL alike).
const protocol::reply& no_expiry_reply() {
  static const protocol::reply reply{protocol::reply_kind::integer, -1, {}, {}};
  return reply;
}

}  // namespace

key_reader::key_reader(asio::any_io_executor executor, const read_context& context)
    : context_(context),
      source_(executor, context.source, context.tune, context.control, context.stats),
      redirected_(executor, context.source, context.tune, context.control, context.stats),
      round_(home_node::own_node, moved_policy::follow,
             backoff(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                     context.tune.max_retry_time, context.index)),
      probe_(context.prove_no_expiry) {
  round_.count_into(context.stats);
}

bool key_reader::fatal(errc kind, std::string message) {
  context_.control.fail({protocol::make_error_code(kind), std::move(message)});
  return false;
}

asio::awaitable<bool> key_reader::read(std::vector<protocol::bytes>& keys, record_batch& out,
                                       gone_keys gone, std::size_t reservation) {
  reservation_ = reservation;
  again_.clear();
  round_.begin(keys.size());
  for (;;) {
    if (context_.control.failed()) co_return false;
    for (const round_group& group : round_.plan(nullptr, {})) {
      if (!co_await read_group(group, keys, out, gone)) co_return false;
    }
    const round_outcome next = round_.finish(backoff::clock::now());
    if (next.next == round_outcome::step::done) co_return true;
    if (next.next == round_outcome::step::give_up) {
      co_return fatal(errc::timeout,
                      fmt::format("source {}: {} keys could not be read within --max-retry-time "
                                  "(the cluster kept redirecting or refusing them)",
                                  context_.label, next.pending));
    }
    co_await sleep_for(next.delay);
  }
}

asio::awaitable<bool> key_reader::read_group(const round_group& group,
                                             std::vector<protocol::bytes>& keys, record_batch& out,
                                             gone_keys gone) {
  dump_next_.clear();
  types_ = {};
  bool read = true;
  if (context_.paths != nullptr && context_.paths->next() == read_path::get_first) {
    read = co_await read_keys(group, group.keys, true, keys, out, gone, dump_next_);
    if (read && !dump_next_.empty()) {
      // Swapped, not moved: both buffers keep their capacity from group to group. A DUMP pass
      // sends nothing on (only GET's answers do).
      dump_pass_.swap(dump_next_);
      dump_next_.clear();
      read = co_await read_keys(group, dump_pass_, false, keys, out, gone, dump_next_);
    }
  } else {
    read = co_await read_keys(group, group.keys, false, keys, out, gone, dump_next_);
  }
  // Once per group, both passes together: the DUMP pass of a GET-first group holds only the
  // keys GET could not read, and alone it would weigh as a whole batch of other types.
  if (context_.paths != nullptr) context_.paths->observe(types_.strings, types_.others);
  co_return read;
}

asio::awaitable<bool> key_reader::read_keys(const round_group& group,
                                            std::span<const std::uint32_t> indices, bool by_get,
                                            std::vector<protocol::bytes>& keys, record_batch& out,
                                            gone_keys gone, std::vector<std::uint32_t>& dump_next) {
  // Fixed for the group: a fallback to PTTL decided on its replies applies to the next round.
  const bool absolute = context_.use_pexpiretime;
  // INFO is asked of the shard's own node only: keys redirected elsewhere carry their expiries.
  // A pass of a few keys (the other types after a GET pass) is cheaper with their expiries.
  const bool worth = group.own_node() && indices.size() >= min_bracketed_keys;
  const bool bracketed = worth && probe_.bracket_next();
  const bool probing = worth && probe_.wants_probe();
  const bool server_info = probing && probe_.wants_server_info();
  const std::string_view expiry = absolute ? "PEXPIRETIME" : "PTTL";
  const std::string_view command = by_get ? "GET" : "DUMP";
  const bool typed = !context_.type.empty();
  const auto keyed = [&](std::string_view name, const protocol::bytes& key) {
    if (group.asking) commands_.push({"ASKING"});  // ASKING lets only the next command in
    commands_.begin(2);
    commands_.arg(name);
    commands_.arg_ref(key);
  };
  const auto sample = [&] {
    commands_.push({"INFO", "keyspace"});
    commands_.push({"INFO", "stats"});
  };
  commands_.clear();
  if (bracketed) sample();
  for (const std::uint32_t index : indices) {
    keyed(command, keys[index]);
    if (!bracketed) keyed(expiry, keys[index]);
    if (typed) keyed("TYPE", keys[index]);
  }
  if (bracketed) sample();
  if (server_info) commands_.push({"INFO", "server"});
  if (probing) commands_.push({"INFO", "keyspace"});
  link& node = redirected_.to(group, nullptr, &source_);
  if (context_.big_key_bytes != 0 || reservation_ != SIZE_MAX) {
    // The replies keep no more than the reservation has room for (a budget of 0 would mean
    // none), and no payload over the big-key limit.
    std::size_t names = 0;
    for (const std::uint32_t index : indices) names += keys[index].size();
    const std::size_t used = out.charged_bytes + names;
    node.connection().keep_bulks(
        {.skip_over = context_.big_key_bytes != 0 ? context_.big_key_bytes : SIZE_MAX,
         .budget = (reservation_ > used ? reservation_ - used : 1) +
                   (bracketed || probing ? info_reply_room : 0),
         .keep_first = false});
  }
  // Reads may run twice: the link retries the whole pipeline after a broken connection.
  if (auto done = co_await node.exec(commands_, replies_); !done) {
    context_.control.fail(
        {done.error().code, fmt::format("reading from the source: {}", done.error().message)});
    co_return false;
  }
  if (context_.commands != nullptr) {
    source_commands& sent = *context_.commands;
    if (by_get) {
      sent.add_get(indices.size());
    } else {
      sent.add_dump(indices.size());
    }
    if (!bracketed) sent.add_expiry(indices.size());
    if (group.asking) sent.add_asking((typed ? 3 : 2) * indices.size());
    sent.add_info((bracketed ? 4 : 0) + (server_info ? 1 : 0) + (probing ? 1 : 0));
  }
  const int db = context_.source.where.db;
  if (probing) {
    const std::size_t last = replies_.size() - 1;
    if (server_info) probe_.judge_server(info_reply_text(replies_[last - 1]));
    const auto keyspace = info_reply_text(replies_[last]);
    probe_.probed(keyspace ? expires_of(*keyspace, db) : std::nullopt);
  }
  if (bracketed &&
      !probe_.proven(expiry_sample_in(replies_[0], replies_[1], db),
                      expiry_sample_in(replies_[replies_.size() - 2], replies_.back(), db))) {
    // A key may have had an expiry when it was read: these replies cannot say which, so the
    // pass is read again with each key's expiry (the probe waits a while before it tries again).
    co_return co_await read_keys(group, indices, by_get, keys, out, gone, dump_next);
  }
  const std::int64_t read_at = unix_ms();
  std::size_t at = bracketed ? 2 : 0;
  const auto next_reply = [&]() -> protocol::reply& {
    if (group.asking) ++at;
    return replies_[at++];
  };
  for (const std::uint32_t index : indices) {
    protocol::reply& value = next_reply();
    const protocol::reply& ttl = bracketed ? no_expiry_reply() : next_reply();
    const protocol::reply* type = typed ? &next_reply() : nullptr;
    protocol::bytes& key = keys[index];
    read_outcome outcome = by_get ? judge_get(value, ttl, absolute, read_at)
                                  : judge_read(value, ttl, absolute, read_at);
    if (outcome.action == read_action::value && type != nullptr) {
      if (type->is_error()) {
        co_return fatal(
            protocol::classify_error_reply(type->text()),
            fmt::format("source {}: TYPE refused: {}{}", node.address(), type->text(),
                        protocol::refusal_advice(protocol::classify_error_reply(type->text()),
                                                 type->text())));
      }
      // A key that became another type is, for a job limited to one type, gone.
      if (type->text() != context_.type) outcome.action = read_action::vanished;
    }
    switch (outcome.action) {
      case read_action::redirect:
        // The slot lives elsewhere now (failover, resharding): read the key where it is.
        if (outcome.to) {
          round_.redirect(index, *outcome.to, node.connection().where().host);
        } else {
          round_.retry_same(index, group, outcome.error);
        }
        continue;
      case read_action::retry:
        round_.retry_same(index, group, outcome.error);
        continue;
      case read_action::dump:
        // Another type (WRONGTYPE), or a string near its expiry: its DUMP tells which.
        dump_next.push_back(index);
        continue;
      case read_action::fail_key:
        context_.failures.record(context_.label, key.view(), protocol::errc_name(outcome.error),
                                 outcome.reply_text);
        shard_counters::add(context_.counters.failed, 1);
        ++out.tally.failed;
        continue;
      case read_action::fatal:
        if (outcome.on_expiry && absolute &&
            (outcome.error == errc::unknown_command || outcome.error == errc::no_permission)) {
          // PEXPIRETIME renamed, disabled or not allowed: read expiries with PTTL, as on
          // servers before 7 (every version answers it).
          if (context_.use_pexpiretime) {
            context_.use_pexpiretime = false;
            context_.warnings.add(fmt::format(
                "source {} refuses PEXPIRETIME ({}): ferry reads expiries with PTTL instead, made "
                "absolute at the moment of the read (exact to a few milliseconds)",
                node.address(), outcome.reply_text));
          }
          round_.retry_same(index, group, outcome.error);
          continue;
        }
        if (by_get && !outcome.on_expiry &&
            (outcome.error == errc::unknown_command || outcome.error == errc::no_permission)) {
          // GET renamed or not allowed (an ACL written for DUMP-based tools): every key is
          // read with DUMP, as before ferry had a string path.
          if (context_.paths->allowed()) {
            context_.paths->forbid();
            context_.warnings.add(fmt::format(
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
        if (gone == gone_keys::erase) {
          // Gone from the source since the event: the target must lose it too.
          out.charged_bytes += key.size();
          const std::uint16_t slot = protocol::key_slot(key.view());
          out.records.push_back({std::move(key), {}, 0, slot, record_kind::erase});
          continue;
        }
        shard_counters::add(context_.counters.vanished, 1);
        ++out.tally.vanished;
        continue;
      case read_action::value:
        break;
    }
    if (value.is_skipped()) {
      const auto size = static_cast<std::size_t>(value.integer);
      if (context_.big_key_bytes == 0 || size <= context_.big_key_bytes) {
        again_.emplace_back(index, size);  // did not fit this reservation
        continue;
      }
      // Too big to hold: struct mode copies it in chunks, from the source again. Its type byte
      // came with the skipped reply (a GET's is a string's).
      out.charged_bytes += key.size();
      const std::uint16_t slot = protocol::key_slot(key.view());
      const auto rdb_type = by_get              ? std::uint8_t{0}
                            : value.str.empty() ? unknown_rdb_type
                                                : static_cast<std::uint8_t>(value.str.data()[0]);
      ++(rdb_type == 0 ? types_.strings : types_.others);
      out.records.push_back({std::move(key),
                             {},
                             outcome.expire_at_ms,
                             slot,
                             record_kind::rebuild,
                             rebuild_reason::big_key,
                             rdb_type,
                             size});
      continue;
    }
    // A DUMP payload begins with its RDB type; 0 is a string.
    const bool string = by_get || (!value.str.empty() && value.str.view().front() == '\0');
    ++(string ? types_.strings : types_.others);
    out.charged_bytes += value.str.size() + key.size();
    // Moved, not copied: each copy of a `bytes` costs an atomic reference count pair per key.
    // The key is settled here, so no retry round needs its name again.
    const std::uint16_t slot = protocol::key_slot(key.view());
    out.records.push_back({std::move(key), std::move(value.str), outcome.expire_at_ms, slot,
                           by_get ? record_kind::string : record_kind::restore});
  }
  co_return true;
}

asio::awaitable<void> read_batches(shard_context& shard, key_channel& in, record_channel& out,
                                   event_channel& events) {
  auto executor = co_await asio::this_coro::executor;
  const read_context context{
      shard.config.tune,
      shard.index,
      shard.label,
      shard.source,
      shard.use_pexpiretime,
      shard.counters,
      shard.control,
      shard.failures,
      shard.warnings,
      {},
      &shard.paths,
      &shard.commands,
      shard.meters != nullptr ? &shard.meters->source : nullptr,
      // Payloads over this are never held whole: struct mode copies them.
      std::max<std::size_t>(std::min(shard.big_key_bytes, shard.budget.capacity()),
                            std::size_t{64} << 10),
      // A replica learns of an expiry as a DEL: its INFO proves nothing (expiry_probe.hpp).
      shard.config.expiry_probe && !shard.config.protect.read_from_replicas};
  key_reader reader(executor, context);
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
    bool read = co_await reader.read(batch.keys, records, gone_keys::count, held);
    // Payloads that did not fit are read again, with room reserved for what they weigh.
    auto again = reader.take_again();
    for (; read && !again.empty() && !shard.control.stopping(); again = reader.take_again()) {
      std::vector<protocol::bytes> retry;
      std::size_t need = 0;
      for (const auto& [index, size] : again) {
        need += size + batch.keys[index].size();
        retry.push_back(std::move(batch.keys[index]));
      }
      const std::size_t extra = std::min(need, capacity);
      co_await shard.budget.acquire(extra);
      held += extra;
      batch.keys = std::move(retry);
      read = co_await reader.read(batch.keys, records, gone_keys::count,
                                  records.charged_bytes + extra);
    }
    if (shard.meters != nullptr) {
      shard.meters->reads.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
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
