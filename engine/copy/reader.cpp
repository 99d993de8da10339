// The readers: pipelined DUMP + PEXPIRETIME (PTTL before Redis 7) on the source.

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>

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

/// Learns from each batch how many keys make about `batch_bytes` of payload.
void adapt_batch_size(shard_context& shard, std::size_t keys, std::size_t bytes) {
  if (keys == 0) return;
  const std::size_t per_key = std::max<std::size_t>(bytes / keys, 1);
  std::size_t most = shard.config.tune.batch_keys;
  // Under a key rate limit, a batch is at most ~1/20 s of the rate, so the limit stays smooth.
  if (shard.limiter.keys_per_sec() > 0) {
    most = std::clamp<std::size_t>(static_cast<std::size_t>(shard.limiter.keys_per_sec() / 20), 1,
                                   most);
  }
  const std::size_t wanted =
      std::clamp<std::size_t>(shard.config.tune.batch_bytes / per_key, 1, most);
  // Grow gently (a batch of small keys may hide big ones), shrink at once.
  shard.keys_per_batch =
      wanted < shard.keys_per_batch ? wanted : std::min(wanted, shard.keys_per_batch * 2);
}

/// Reads one key batch: the shard's own node first, then (for keys it redirected) their owners.
class batch_reader {
 public:
  batch_reader(asio::any_io_executor executor, shard_context& shard)
      : executor_(executor),
        shard_(shard),
        source_(executor, shard.source, shard.config.tune, shard.control),
        backoff_(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000},
                 shard.config.tune.max_retry_time, shard.index) {}

  /// Fills `out` with the keys that still exist (their names are moved out of `batch`); false
  /// when the job failed.
  asio::awaitable<bool> read(key_batch& batch, record_batch& out);

  std::uint64_t retries() const {
    std::uint64_t total = source_.retries() + rounds_retried_;
    for (const auto& [address, l] : redirected_) total += l->retries();
    return total;
  }

 private:
  struct pending {
    std::uint32_t index = 0;
    std::string node;  // "host:port" named by MOVED/ASK; empty for the shard's node
    bool asking = false;
  };

  link& link_for(const std::string& node);
  asio::awaitable<bool> read_group(link& node, std::vector<pending>& group, key_batch& batch,
                                   record_batch& out, std::vector<pending>& again);
  bool fatal(errc kind, std::string message) {
    shard_.control.fail({protocol::make_error_code(kind), std::move(message)});
    return false;
  }

  asio::any_io_executor executor_;
  shard_context& shard_;
  link source_;
  std::map<std::string, std::unique_ptr<link>> redirected_;
  backoff backoff_;
  protocol::command_buffer commands_;
  std::vector<protocol::reply> replies_;
  std::uint64_t rounds_retried_ = 0;
};

link& batch_reader::link_for(const std::string& node) {
  if (node.empty()) return source_;
  auto& slot = redirected_[node];
  if (!slot) {
    protocol::connection_options options = shard_.source;
    const auto colon = node.rfind(':');
    options.where.host = node.substr(0, colon);
    options.where.port = static_cast<std::uint16_t>(std::stoi(node.substr(colon + 1)));
    slot = std::make_unique<link>(executor_, options, shard_.config.tune, shard_.control);
  }
  return *slot;
}

asio::awaitable<bool> batch_reader::read(key_batch& batch, record_batch& out) {
  std::vector<pending> todo(batch.keys.size());
  for (std::uint32_t i = 0; i < todo.size(); ++i) todo[i].index = i;
  backoff_.reset();
  while (!todo.empty()) {
    if (shard_.control.failed()) co_return false;
    std::vector<pending> again;
    if (std::all_of(todo.begin(), todo.end(), [](const pending& p) { return p.node.empty(); })) {
      // Nothing redirected (the usual case): the whole batch goes to the shard's node, with no
      // per-key grouping.
      if (!co_await read_group(source_, todo, batch, out, again)) co_return false;
    } else {
      std::map<std::string, std::vector<pending>> groups;
      for (pending& p : todo) groups[p.node].push_back(std::move(p));
      for (auto& [node, group] : groups) {
        if (!co_await read_group(link_for(node), group, batch, out, again)) co_return false;
      }
    }
    todo = std::move(again);
    if (todo.empty()) break;
    ++rounds_retried_;
    auto delay = backoff_.next(backoff::clock::now());
    if (!delay) {
      co_return fatal(errc::timeout,
                      fmt::format("source {}: {} keys could not be read within --max-retry-time "
                                  "(the cluster kept redirecting or refusing them)",
                                  shard_.label, todo.size()));
    }
    co_await sleep_for(*delay);
  }
  co_return true;
}

asio::awaitable<bool> batch_reader::read_group(link& node, std::vector<pending>& group,
                                               key_batch& batch, record_batch& out,
                                               std::vector<pending>& again) {
  const std::string_view expiry = shard_.use_pexpiretime ? "PEXPIRETIME" : "PTTL";
  commands_.clear();
  for (const pending& p : group) {
    if (p.asking) commands_.push({"ASKING"});
    commands_.begin(2);
    commands_.arg("DUMP");
    commands_.arg_ref(batch.keys[p.index]);
    if (p.asking) commands_.push({"ASKING"});  // ASKING lets only the next command in
    commands_.begin(2);
    commands_.arg(expiry);
    commands_.arg_ref(batch.keys[p.index]);
  }
  // Reads may run twice: the link retries the whole pipeline after a broken connection.
  if (auto done = co_await node.exec(commands_, replies_); !done) {
    shard_.control.fail(
        {done.error().code, fmt::format("reading from the source: {}", done.error().message)});
    co_return false;
  }
  const std::int64_t read_at = now_ms();
  std::size_t at = 0;
  for (pending& p : group) {
    if (p.asking) ++at;
    protocol::reply& dump = replies_[at++];
    if (p.asking) ++at;
    const protocol::reply& ttl = replies_[at++];
    protocol::bytes& key = batch.keys[p.index];
    if (dump.is_error() || ttl.is_error()) {
      const protocol::reply& bad = dump.is_error() ? dump : ttl;
      const errc kind = protocol::classify_error_reply(bad.text());
      if (kind == errc::moved || kind == errc::ask) {
        // The slot lives elsewhere now (failover, resharding): read the key where it is.
        if (auto to = protocol::parse_redirect(bad.text())) {
          p.node = fmt::format(
              "{}:{}", to->host.empty() ? node.connection().where().host : to->host, to->port);
          p.asking = kind == errc::ask;
        }
        again.push_back(std::move(p));
        continue;
      }
      switch (protocol::disposition_of(kind)) {
        case protocol::disposition::retry:
          again.push_back(std::move(p));
          continue;
        case protocol::disposition::fail_key:
          shard_.failures.record(shard_.label, key.view(), protocol::errc_name(kind), bad.text());
          shard_counters::add(shard_.counters.failed, 1);
          ++out.tally.failed;
          continue;
        case protocol::disposition::fatal:
          co_return fatal(kind,
                          fmt::format("source {}: DUMP refused: {}", node.address(), bad.text()));
      }
    }
    // Gone since SCAN (deleted, or expired: PEXPIRETIME -2): nothing to copy.
    std::int64_t expire_at = 0;
    if (ttl.integer >= 0) expire_at = shard_.use_pexpiretime ? ttl.integer : read_at + ttl.integer;
    // Expired since DUMP: RESTORE would not create it anyway, so it is not sent.
    if (dump.is_nil() || ttl.integer == -2 || (expire_at != 0 && expire_at <= read_at)) {
      shard_counters::add(shard_.counters.vanished, 1);
      ++out.tally.vanished;
      continue;
    }
    out.charged_bytes += dump.str.size() + key.size();
    // Moved, not copied: each copy of a `bytes` costs an atomic reference count pair per key.
    // The key is settled here, so no retry round needs its name again.
    const std::uint16_t slot = protocol::key_slot(key.view());
    out.records.push_back({std::move(key), std::move(dump.str), expire_at, slot});
  }
  co_return true;
}

}  // namespace

asio::awaitable<void> read_batches(shard_context& shard, key_channel& in, record_channel& out) {
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
    record_batch records{batch.scan_seq, {}, 0, {}};
    records.records.reserve(batch.keys.size());
    const bool read = co_await reader.read(batch, records);
    shard_counters::add(shard.counters.retries, reader.retries() - retries_seen);
    retries_seen = reader.retries();
    // A part is settled only when nothing of it is left to write; after a failure it stays open
    // so that no checkpoint ever passes its keys.
    if (!read || shard.control.failed()) continue;

    adapt_batch_size(shard, batch.keys.size(), records.charged_bytes);
    if (shard.limiter.active() && records.charged_bytes != 0) {
      co_await pause_for(shard.limiter.take(0, records.charged_bytes, rate_limiter::clock::now()),
                         shard.control);
    }
    if (shard.slowdown > 1) {
      // The source answers slowly: leave it idle (slowdown - 1) times as long as we kept it busy.
      co_await sleep_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          (std::chrono::steady_clock::now() - started) * (shard.slowdown - 1)));
    }
    if (records.records.empty()) {
      settle_part(shard, batch.scan_seq, records.tally);
      continue;
    }
    const std::size_t charged = records.charged_bytes;
    co_await shard.budget.acquire(charged);
    auto [send_ec] = co_await out.async_send(boost::system::error_code{}, std::move(records),
                                             asio::as_tuple(asio::use_awaitable));
    if (send_ec) shard.budget.release(charged);
  }
  if (--shard.readers_running == 0) {
    co_await end_stream(out, shard.writers);
  }
}

}  // namespace ferry::engine
