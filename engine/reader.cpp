// The readers: pipelined DUMP + PEXPIRETIME (PTTL before Redis 7) on the source.

#include <algorithm>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "engine/shard.hpp"
#include "protocol/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void read_commands(protocol::command_buffer& commands, const key_batch& batch,
                   bool use_pexpiretime) {
  commands.clear();
  const std::string_view expiry = use_pexpiretime ? "PEXPIRETIME" : "PTTL";
  for (const protocol::bytes& key : batch.keys) {
    commands.begin(2);
    commands.arg("DUMP");
    commands.arg_ref(key);
    commands.begin(2);
    commands.arg(expiry);
    commands.arg_ref(key);
  }
}

/// Learns from each batch how many keys make about `batch_bytes` of payload.
void adapt_batch_size(shard_context& shard, std::size_t keys, std::size_t bytes) {
  if (keys == 0) return;
  const std::size_t per_key = std::max<std::size_t>(bytes / keys, 1);
  const std::size_t wanted = std::clamp<std::size_t>(shard.config.tune.batch_bytes / per_key, 1,
                                                     shard.config.tune.batch_keys);
  // Grow gently (a batch of small keys may hide big ones), shrink at once.
  shard.keys_per_batch = wanted < shard.keys_per_batch
                             ? wanted
                             : std::min(wanted, shard.keys_per_batch * 2);
}

}  // namespace

asio::awaitable<void> read_batches(shard_context& shard, key_channel& in, record_channel& out) {
  auto executor = co_await asio::this_coro::executor;
  link source(executor, shard.source, shard.config.tune, shard.control);
  protocol::command_buffer commands;
  std::vector<protocol::reply> replies;
  for (;;) {
    auto [receive_ec, batch] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (receive_ec) break;
    if (shard.control.failed()) continue;  // drain, so the scanner is never stuck

    read_commands(commands, batch, shard.use_pexpiretime);
    const auto retries_before = source.retries();
    if (auto done = co_await source.exec(commands, replies); !done) {
      shard.control.fail({done.error().code,
                          fmt::format("reading from the source: {}", done.error().message)});
      continue;
    }
    shard_counters::add(shard.counters.retries, source.retries() - retries_before);
    const std::int64_t read_at = now_ms();

    record_batch records{batch.scan_seq, {}, 0};
    records.records.reserve(batch.keys.size());
    std::size_t payload_bytes = 0;
    std::uint64_t vanished = 0;
    for (std::size_t i = 0; i < batch.keys.size(); ++i) {
      const protocol::reply& dump = replies[2 * i];
      const protocol::reply& ttl = replies[2 * i + 1];
      const protocol::bytes& key = batch.keys[i];
      if (dump.is_error() || ttl.is_error()) {
        const protocol::reply& bad = dump.is_error() ? dump : ttl;
        const auto kind = protocol::classify_error_reply(bad.text());
        if (protocol::disposition_of(kind) == protocol::disposition::fail_key) {
          shard.failures.record(shard.label, key.view(), protocol::errc_name(kind),
                                bad.text());
          shard_counters::add(shard.counters.failed, 1);
          continue;
        }
        shard.control.fail({protocol::make_error_code(kind),
                            fmt::format("source {}: DUMP refused: {}", shard.label, bad.text())});
        break;
      }
      // Gone since SCAN (deleted, or expired: PEXPIRETIME -2): nothing to copy.
      if (dump.is_nil() || ttl.integer == -2) {
        ++vanished;
        continue;
      }
      std::int64_t expire_at = 0;
      if (ttl.integer >= 0) expire_at = shard.use_pexpiretime ? ttl.integer : read_at + ttl.integer;
      // Expired since DUMP: RESTORE would not create it anyway, so it is not sent.
      if (expire_at != 0 && expire_at <= read_at) {
        ++vanished;
        continue;
      }
      payload_bytes += dump.str.size() + key.size();
      records.records.push_back({key, dump.str, expire_at, protocol::key_slot(key.view())});
    }
    shard_counters::add(shard.counters.vanished, vanished);
    adapt_batch_size(shard, batch.keys.size(), payload_bytes);
    // A part is settled only when nothing of it is left to write; after a failure it stays open
    // so that no checkpoint ever passes its keys.
    if (shard.control.failed()) continue;
    if (records.records.empty()) {
      shard.ledger.part_done(batch.scan_seq);
      continue;
    }
    records.charged_bytes = payload_bytes;
    co_await shard.budget.acquire(payload_bytes);
    auto [send_ec] = co_await out.async_send(boost::system::error_code{}, std::move(records),
                                             asio::as_tuple(asio::use_awaitable));
    if (send_ec) shard.budget.release(payload_bytes);
  }
  if (--shard.readers_running == 0) {
    co_await end_stream(out, shard.writers);
  }
}

}  // namespace ferry::engine
