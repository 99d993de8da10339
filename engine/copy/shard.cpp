#include "engine/copy/shard.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "engine/runtime/task_group.hpp"
#include "engine/verify/inline_verify.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

void publish_position(shard_context& shard) {
  shard.position.set(
      {shard.ledger.committed_cursor(), shard.ledger.complete(), shard.ledger.committed_counts()});
}

void settle_part(shard_context& shard, std::uint64_t seq, const counts& settled) {
  const auto before = shard.ledger.commits();
  shard.ledger.part_done(seq, settled);
  if (shard.ledger.commits() != before) publish_position(shard);
}

boost::asio::awaitable<void> probe_latency(shard_context& shard) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  link source(executor, shard.source, shard.config.tune, shard.control);
  protocol::command_buffer ping;
  ping.push({"PING"});
  std::vector<protocol::reply> replies;
  double average_ms = 0;
  asio::steady_timer timer(executor);
  while (!shard.finished && !shard.control.stopping()) {
    const auto sent = std::chrono::steady_clock::now();
    if (!co_await source.exec(ping, replies)) co_return;  // the readers will report the node
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
    average_ms = average_ms == 0 ? ms : 0.7 * average_ms + 0.3 * ms;
    // Multiplicative slow-down while over the target, gentle recovery below it.
    if (average_ms > static_cast<double>(shard.config.protect.latency_target.count())) {
      shard.slowdown = std::min(shard.slowdown * 2, 64.0);
    } else {
      shard.slowdown = std::max(1.0, shard.slowdown * 0.8);
    }
    timer.expires_after(std::chrono::milliseconds{100});
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

boost::asio::awaitable<void> copy_shard(shard_context& shard) {
  auto executor = co_await boost::asio::this_coro::executor;
  const unsigned readers = shard.readers = std::max(1u, shard.config.tune.readers_per_shard);
  const unsigned writers = shard.writers = std::max(1u, shard.config.tune.writers_per_shard);
  key_channel keys(executor, 2 * readers);
  record_channel records(executor, readers + writers);
  shard.readers_running = readers;

  // A stage that throws is a bug; the job stops with its message, and closing the channels
  // lets the other stages of the shard finish instead of waiting forever.
  task_group stages(executor, [&shard, &keys, &records](std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    shard.control.fail({make_error_code(protocol::errc::server_error),
                        "internal error in shard " + shard.label + ": " + what});
    keys.close();
    records.close();
  });
  stages.spawn(scan_shard(shard, keys));
  for (unsigned i = 0; i < readers; ++i) stages.spawn(read_batches(shard, keys, records));
  for (unsigned i = 0; i < writers; ++i) stages.spawn(write_batches(shard, records));
  // The probe runs beside the pipeline and stops once the pipeline is done.
  task_group probes(executor, [](std::exception_ptr) {});
  if (shard.config.protect.latency_target.count() > 0) probes.spawn(probe_latency(shard));
  // The inline verifier runs behind the writers and ends once they have handed it everything.
  task_group checks(executor, [](std::exception_ptr) {});  // it reports its own errors
  if (shard.verify != nullptr) checks.spawn(shard.verify->run());
  co_await stages.wait();
  if (shard.verify != nullptr) co_await shard.verify->finish();
  co_await checks.wait();
  shard.finished = true;
  co_await probes.wait();
}

}  // namespace ferry::engine
