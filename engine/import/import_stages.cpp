#include "engine/import/import_stages.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "engine/auth/idle_reauth.hpp"
#include "engine/cluster/node_links.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/copy/restore_outcome.hpp"
#include "engine/copy/write_stage.hpp"
#include "engine/import/function_restore.hpp"
#include "engine/import/struct_writer.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/runtime/channels.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/runtime/worker_pool.hpp"
#include "engine/transfer/key_rebuild.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

using work_guard = asio::executor_work_guard<asio::io_context::executor_type>;

/// Batches from the feed, passed on to this thread's writers once its byte budget has room for
/// them: the back-pressure that reaches the feed (the channel from it holds only a few).
///
/// `guard` keeps this thread's io_context from running out of work until the relay ends: the
/// feed's thread sends into a channel bound to it, and asio stops an io_context whose work count
/// reaches zero even before its run() began (a small file, fed whole before the writer threads
/// start, then left the writers' run() returning at once, nothing written).
asio::awaitable<void> relay_batches(feed_channel& in, record_channel& out, byte_budget& budget,
                                    unsigned writers, const job_control& control,
                                    work_guard guard) {
  for (;;) {
    auto [ec, batch] = co_await in.async_receive(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    // After a failure nothing more is written: the batch is dropped unsettled, so no state file
    // passes it, and the feed is never stuck on a full channel.
    if (control.failed()) continue;
    const std::size_t charge = batch.charged_bytes;
    co_await budget.acquire(charge);
    auto [sent] = co_await out.async_send(boost::system::error_code{}, std::move(batch),
                                          asio::as_tuple(asio::use_awaitable));
    if (sent) budget.release(charge);
  }
  co_await end_stream(out, writers);
  guard.reset();
}

/// One writer thread: its budget, its view of the target, its record channel.
struct writer_thread {
  std::unique_ptr<byte_budget> budget;
  std::unique_ptr<slot_router> router;
  std::unique_ptr<write_context> write;
  std::unique_ptr<record_channel> records;
};

/// Whether the target's masters run RESTORE: each is sent one with a payload no server accepts
/// (nothing is written either way). A server that runs it answers that the payload is wrong; one
/// where it is renamed away, not allowed (a geo-replicated cache) or not in the user's ACL says
/// so instead. Returns the refusal ("host:port", answer), or nothing.
asio::awaitable<maybe<std::optional<std::pair<std::string, std::string>>>> probe_restore(
    slot_router& router, const tuning& tune, job_control& control, std::string_view job_id) {
  const protocol::topology& map = router.map();
  node_links links(co_await asio::this_coro::executor, router.seed(), tune, control);
  std::vector<bool> asked(map.masters().size(), false);
  protocol::command_buffer commands;
  std::vector<protocol::reply> replies;
  for (std::uint32_t slot = 0; slot < 16384; ++slot) {
    const auto m = map.master_of(static_cast<std::uint16_t>(slot));
    if (!m || asked[*m]) continue;
    asked[*m] = true;
    link& node = links.to(map.masters()[*m].where);
    const std::string probe =
        temp_key_prefix(static_cast<std::uint16_t>(slot), job_id, 0) + ":probe";
    commands.clear();
    commands.push({"RESTORE", probe, "1000", "ferry-probe"});
    if (auto done = co_await node.exec(commands, replies); !done) {
      co_return protocol::failure{
          done.error().code,
          fmt::format("asking the target whether it runs RESTORE: {}", done.error().message)};
    }
    if (!replies.empty() && replies[0].is_error() && refuses_restore(replies[0].text())) {
      co_return std::optional<std::pair<std::string, std::string>>(
          std::pair{node.address(), std::string(replies[0].text())});
    }
  }
  co_return std::optional<std::pair<std::string, std::string>>();
}

/// The feed thread's work: the function restorer and struct mode's writer on its io_context,
/// then the feed.
asio::awaitable<void> feed_on_thread(stage_services& s, feed_channel& out, unsigned consumers,
                                     rate_limiter& limiter) {
  const import_plan& plan = s.plan;
  const auto executor = co_await asio::this_coro::executor;
  function_restorer functions(executor, plan.target, plan.target_facts.map,
                              plan.target_version.value_or(protocol::rdb::version::redis_7_0),
                              s.config.existing == existing_policy::replace, s.config.tune,
                              s.control);
  slot_router router(executor, plan.target, plan.target_facts.map, s.config.tune, s.control);
  struct_settings settings;
  settings.caps = import_caps(plan.target_facts);
  // Elements are assembled whole before their command: a share of the budget, as in copy.
  settings.sizes.max_element_bytes =
      std::max<std::size_t>(s.config.tune.max_inflight_bytes / 2, std::size_t{1} << 20);
  settings.job_id = s.job_id.empty() ? std::string("import") : s.job_id;
  settings.policy = s.config.existing;
  struct_writer structs(executor, router, s.config.tune, s.control, settings, limiter);
  rebuild_reason all_struct = s.config.force_struct ? rebuild_reason::forced : rebuild_reason::none;
  if (all_struct == rebuild_reason::none) {
    auto refused = co_await probe_restore(router, s.config.tune, s.control, settings.job_id);
    if (!refused) {
      s.control.fail(refused.error());
    } else if (*refused) {
      all_struct = rebuild_reason::restore_refused;
      s.found.restore_refused = true;
      s.found.warnings.push_back(fmt::format(
          "target {} refuses RESTORE ({}): ferry imports every key with type commands instead "
          "(struct mode: slower; a small key is written in one MULTI/EXEC, a large one is built "
          "under a temporary key in its slot and renamed into place)",
          (*refused)->first, (*refused)->second));
    }
  }
  feed_context context{
      .config = s.config,
      .source = *s.input.source,
      .label = s.input.name,
      .start_offset = s.start_offset,
      .target_version = plan.target_version,
      .max_payload_bytes = import_stream_limit(s.config),
      .ledger = s.ledger,
      .counters = s.counters,
      .failures = s.failures,
      .control = s.control,
      .limiter = limiter,
      .out = out,
      .consumers = consumers,
      .check_identity = s.check_identity,
      .restore_function = [&functions](std::string_view code) { return functions.restore(code); },
      .structs = &structs,
      .all_struct = all_struct,
      .found = s.found,
  };
  if (plan.db) s.found.db = plan.db;
  if (!s.control.failed()) {
    co_await feed_file(context);
  } else {
    co_await end_stream(out, consumers);
  }
  shard_counters::add(s.counters.retries, structs.retries());
  for (const auto& warning : functions.warnings()) s.found.warnings.push_back(warning);
}

}  // namespace

std::size_t import_payload_limit(const tuning& tune) noexcept {
  return std::clamp<std::size_t>(tune.max_inflight_bytes / 2, std::size_t{1} << 20,
                                 std::size_t{512} << 20);
}

std::size_t import_stream_limit(const import_config& config) noexcept {
  const std::size_t limit = import_payload_limit(config.tune);
  return config.big_key_bytes != 0 ? std::min(limit, config.big_key_bytes) : limit;
}

stage_result run_stages(stage_services& s, const std::function<void()>& tick) {
  const import_config& config = s.config;
  stage_result result;
  // The feed has a thread of its own; the writers one or more (--threads).
  worker_pool pool(std::max(1u, config.tune.threads));
  const unsigned threads = pool.size();
  result.threads = threads;
  const unsigned writers = std::max(1u, config.tune.writers_per_shard);
  feed_channel batches(pool.io(0).get_executor(), 2 * threads);
  rate_limiter limiter(config.protect.max_keys_per_sec, config.protect.max_bytes_per_sec);

  std::vector<writer_thread> workers(threads);
  for (unsigned t = 0; t < threads; ++t) {
    writer_thread& w = workers[t];
    const auto executor = pool.io(t).get_executor();
    w.budget = std::make_unique<byte_budget>(
        executor, std::max<std::size_t>(config.tune.max_inflight_bytes / threads, 1));
    w.router = std::make_unique<slot_router>(executor, s.plan.target, s.plan.target_facts.map,
                                             config.tune, s.control);
    w.write = std::make_unique<write_context>(write_context{
        .tune = config.tune,
        .policy = config.existing,
        .resumed = s.plan.previous.has_value(),
        .rescan = false,
        .index = t,
        .label = s.input.name,
        .counters = s.counters,
        .control = s.control,
        .failures = s.failures,
        .budget = *w.budget,
        .router = *w.router,
        .verify_sample = 0,
        .meters = nullptr,
        // RESTORE only: the feed writes what RESTORE cannot carry with type commands itself
        // (struct_writer.hpp), from the file's decoded values, before their batch leaves it.
        .mode = nullptr,
        .rebuild = nullptr,
        .warnings = nullptr,
    });
    w.records = std::make_unique<record_channel>(executor, writers + 1);
  }

  // Taken before the feed starts (see relay_batches).
  std::vector<work_guard> guards;
  for (unsigned t = 0; t < threads; ++t) guards.push_back(asio::make_work_guard(pool.io(t)));
  job_control& control = s.control;
  // A stage that throws is a bug: the job stops with its message, and the closed channels let
  // the other stages end instead of waiting forever.
  std::thread feed([&] {
    try {
      asio::io_context io{1};
      std::exception_ptr error;
      asio::co_spawn(io, feed_on_thread(s, batches, threads, limiter),
                     [&error](std::exception_ptr e) { error = e; });
      io.run();
      if (error) std::rethrow_exception(error);
    } catch (...) {
      control.fail(fail_with(job_error::internal, "internal error in the import's feed: " +
                                                      describe(std::current_exception())));
      batches.close();
    }
  });
  const settled_sink settled = [&s](settled_part part) -> asio::awaitable<void> {
    s.ledger.settled(part.seq, part.tally);
    co_return;
  };
  const auto on_error = [&control](std::exception_ptr error) {
    control.fail(fail_with(job_error::internal, "internal error: " + describe(error)));
  };
  pool.run(
      [&](unsigned t, asio::io_context& io) {
        writer_thread& w = workers[t];
        std::vector<asio::awaitable<void>> flows;
        flows.push_back(
            relay_batches(batches, *w.records, *w.budget, writers, control, std::move(guards[t])));
        for (unsigned i = 0; i < writers; ++i) {
          flows.push_back(write_batches(*w.write, *w.records, settled));
        }
        run_flows_with_reauth(
            io, std::move(flows), [&w, &control, &batches](std::exception_ptr error) {
              control.fail(fail_with(job_error::internal, "internal error: " + describe(error)));
              w.records->close();
              batches.close();
            });
      },
      on_error, config.state.interval, tick);
  feed.join();
  for (auto& w : workers) result.peak_inflight_bytes += w.budget->peak();
  return result;
}

}  // namespace ferry::engine
