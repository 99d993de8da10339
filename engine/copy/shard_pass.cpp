#include "engine/copy/shard_pass.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/auth/idle_reauth.hpp"
#include "engine/cluster/sides.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/copy/shard.hpp"
#include "engine/verify/inline_verify.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// One worker thread: its own io_context, memory budget, target view and shards (and, with
/// --verify, a source view and each shard's inline verifier).
struct worker {
  asio::io_context io{1};
  std::unique_ptr<byte_budget> budget;
  std::unique_ptr<slot_router> router;
  std::unique_ptr<slot_router> source_router;
  std::unique_ptr<inline_verify_context> verify_context;
  std::vector<std::unique_ptr<inline_verifier>> verifiers;
  std::vector<std::unique_ptr<shard_context>> shards;
  std::thread thread;
};

}  // namespace

pass_result run_pass(const pass_services& services, const std::vector<shard_run>& runs,
                     std::chrono::milliseconds tick_every, const std::function<void()>& tick) {
  pass_result result;
  if (runs.empty()) return result;
  const copy_config& config = services.config;
  const unsigned wanted = config.tune.threads != 0
                              ? config.tune.threads
                              : std::max(1u, std::thread::hardware_concurrency());
  const auto threads = static_cast<unsigned>(std::min<std::size_t>(wanted, runs.size()));
  result.threads = threads;
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    auto w = std::make_unique<worker>();
    w->budget = std::make_unique<byte_budget>(
        w->io.get_executor(), std::max<std::size_t>(config.tune.max_inflight_bytes / threads, 1));
    w->router = std::make_unique<slot_router>(w->io.get_executor(), services.target,
                                              services.target_map, config.tune, services.control);
    if (config.verify.enabled) {
      const verify_services& v = services.verify;
      w->source_router = std::make_unique<slot_router>(w->io.get_executor(), v.source, v.source_map,
                                                       config.tune, services.control);
      w->verify_context = std::make_unique<inline_verify_context>(
          inline_verify_context{config.verify, v.compare, config.tune, services.control, v.diffs,
                                v.warnings, *w->source_router, *w->router});
    }
    workers.push_back(std::move(w));
  }
  for (std::size_t n = 0; n < runs.size(); ++n) {
    const shard_run& run = runs[n];
    worker& w = *workers[n % workers.size()];
    w.shards.push_back(std::make_unique<shard_context>(shard_context{
        .config = config,
        .index = run.index,
        .label = run.source.where.address(),
        .source = run.source,
        .use_pexpiretime = services.use_pexpiretime,
        .start_cursor = run.start_cursor,
        .resumed = services.resumed,
        .slots = run.slots,
        .rescan = run.rescan,
        .counters = *run.counters,
        .control = services.control,
        .failures = services.failures,
        .budget = *w.budget,
        .router = *w.router,
        .ledger = scan_ledger{run.start_cursor, run.start_done},
        .position = *run.position,
        .limiter = services.limiter,
    }));
    if (config.verify.enabled) {
      // As many comparers as writers, so that a full --verify keeps up with the copy.
      w.verifiers.push_back(
          std::make_unique<inline_verifier>(w.io.get_executor(), *w.verify_context, *run.verified,
                                            std::max(1u, config.tune.writers_per_shard)));
      w.shards.back()->verify = w.verifiers.back().get();
    }
  }

  std::mutex done_mutex;
  std::condition_variable done;
  std::size_t running = workers.size();
  job_control& control = services.control;
  for (auto& w : workers) {
    w->thread = std::thread([&, &w = *w] {
      // Idle connections move to a renewed token too, while this thread's shards run.
      reauth_sweeper sweeper(w.io.get_executor(), w.shards.size());
      for (auto& shard : w.shards) {
        asio::co_spawn(
            w.io, sweeper.run_flow(copy_shard(*shard)), [&control](std::exception_ptr error) {
              if (error) {
                control.fail(fail_with(errc::server_error, "internal error: " + describe(error)));
              }
            });
      }
      asio::co_spawn(w.io, sweeper.run(), asio::detached);
      try {
        w.io.run();
      } catch (...) {
        control.fail(
            fail_with(errc::server_error, "internal error: " + describe(std::current_exception())));
      }
      std::lock_guard lock(done_mutex);
      --running;
      done.notify_all();
    });
  }
  {
    std::unique_lock lock(done_mutex);
    while (running != 0) {
      if (done.wait_for(lock, tick_every, [&] { return running == 0; })) break;
      lock.unlock();
      tick();
      lock.lock();
    }
  }
  for (auto& w : workers) w->thread.join();
  for (auto& w : workers) result.peak_inflight_bytes += w->budget->peak();
  return result;
}

}  // namespace ferry::engine
