#include "engine/copy/shard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "engine/cluster/link.hpp"
#include "engine/runtime/task_group.hpp"
#include "engine/verify/inline_verify.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

void publish_position(shard_context& shard) {
  shard.position.set(
      {shard.ledger.committed_cursor(), shard.ledger.complete(), shard.ledger.committed_counts()});
}

/// The commit stage: the only owner of the shard's ledger. Runs until every other stage has
/// ended.
asio::awaitable<void> commit_parts(shard_context& shard, event_channel& events) {
  for (;;) {
    auto [ec, event] = co_await events.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    const auto commits = shard.ledger.commits();
    if (const auto* call = std::get_if<scan_call>(&event)) {
      shard.ledger.opened(call->seq, call->next_cursor, call->keys);
      for (std::size_t p = 0; p < call->parts; ++p) shard.ledger.part_sent(call->seq);
      shard.ledger.closed(call->seq);
    } else {
      auto& part = std::get<settled_part>(event);
      // Keys handed on to struct mode come back as a part of their own: the call stays open.
      for (std::uint32_t d = 0; d < part.deferred; ++d) shard.ledger.part_sent(part.seq);
      shard.ledger.part_done(part.seq, part.tally);
      // Waits while the verifier is behind: back-pressure on the copy rather than memory.
      if (shard.verify != nullptr) co_await shard.verify->push(std::move(part.verify));
    }
    if (shard.ledger.commits() != commits) publish_position(shard);
  }
  // A scan that ended with an empty call commits nothing new but may have completed the shard.
  publish_position(shard);
}

/// Runs `count` copies of a stage and then ends `stream` for its `consumers`.
template <class Make, class Channel>
asio::awaitable<void> run_then_end(unsigned count, Make make, Channel& stream, unsigned consumers,
                                   std::function<void(std::exception_ptr)> on_error) {
  auto executor = co_await asio::this_coro::executor;
  task_group group(executor, std::move(on_error));
  for (unsigned i = 0; i < count; ++i) group.spawn(make());
  co_await group.wait();
  co_await end_stream(stream, consumers);
}

}  // namespace

asio::awaitable<void> probe_latency(shard_context& shard) {
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
      shard.pace.slowdown = std::min(shard.pace.slowdown * 2, 64.0);
    } else {
      shard.pace.slowdown = std::max(1.0, shard.pace.slowdown * 0.8);
    }
    timer.expires_after(std::chrono::milliseconds{100});
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> copy_shard(shard_context& shard) {
  auto executor = co_await asio::this_coro::executor;
  const unsigned readers = std::max(1u, shard.config.tune.readers_per_shard);
  const unsigned writers = std::max(1u, shard.config.tune.writers_per_shard);
  key_channel keys(executor, 2 * readers);
  record_channel records(executor, readers + writers);
  event_channel events(executor, 2 * (readers + writers));
  // Struct mode behind the writers, as many as there are writers.
  const bool structs = shard.struct_budget != nullptr && shard.write.mode != nullptr &&
                       shard.write.mode->can_rebuild;
  const unsigned builders = writers;
  rebuild_channel rebuilds(executor, builders);
  shard.write.rebuild = structs ? &rebuilds : nullptr;
  std::optional<struct_context> rebuild;
  if (structs) {
    rebuild.emplace(struct_context{shard.write, shard.source, shard.caps, shard.sizes, shard.job_id,
                                   *shard.struct_budget, shard.source_map});
  }

  // A stage that throws is a bug; the job stops with its message, and closing the channels
  // lets the other stages of the shard finish instead of waiting forever.
  auto on_error = [&shard, &keys, &records, &events, &rebuilds](std::exception_ptr error) {
    shard.control.fail(fail_with(
        job_error::internal, "internal error in shard " + shard.label + ": " + describe(error)));
    keys.close();
    records.close();
    rebuilds.close();
    events.close();
  };
  const settled_sink settled = [&events](settled_part part) -> asio::awaitable<void> {
    co_await events.async_send(boost::system::error_code{}, std::move(part),
                               asio::as_tuple(asio::use_awaitable));
  };
  task_group stages(executor, on_error);
  stages.spawn(scan_shard(shard, keys, events, readers));
  // The readers end the record stream once the last of them is done, the writers end the
  // event stream once the last of them is: by then every reader has ended too.
  stages.spawn(run_then_end(
      readers, [&] { return read_batches(shard, keys, records, events); }, records, writers,
      on_error));
  if (shard.sink) {
    // A sink instead of the target (`ferry export`): no target, so no struct mode either.
    stages.spawn(run_then_end(
        writers, [&] { return shard.sink(records, settled); }, events, 1, on_error));
  } else if (structs) {
    // The writers end the rebuild stream, the struct stage then the event stream.
    stages.spawn(run_then_end(
        writers, [&] { return write_batches(shard.write, records, settled); }, rebuilds, builders,
        on_error));
    stages.spawn(run_then_end(
        builders, [&] { return rebuild_batches(*rebuild, rebuilds, settled); }, events, 1,
        on_error));
  } else {
    stages.spawn(run_then_end(
        writers, [&] { return write_batches(shard.write, records, settled); }, events, 1,
        on_error));
  }
  stages.spawn(commit_parts(shard, events));
  // The probe runs beside the pipeline and stops once the pipeline is done.
  task_group probes(executor, [](std::exception_ptr) {});
  if (shard.config.protect.latency_target.count() > 0) probes.spawn(probe_latency(shard));
  // The inline verifier runs behind the commit stage and ends once it has been handed
  // everything.
  task_group checks(executor, [](std::exception_ptr) {});  // it reports its own errors
  if (shard.verify != nullptr) checks.spawn(shard.verify->run());
  co_await stages.wait();
  if (shard.verify != nullptr) co_await shard.verify->finish();
  co_await checks.wait();
  shard.finished = true;
  co_await probes.wait();
}

}  // namespace ferry::engine
