#include "engine/copy/shard_pass.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>

#include "engine/auth/idle_reauth.hpp"
#include "engine/cluster/sides.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/copy/copy_extension.hpp"
#include "engine/copy/shard.hpp"
#include "engine/runtime/worker_pool.hpp"
#include "engine/verify/inline_verify.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// One worker thread's state: its memory budget, target view and shards (and, with --verify, a
/// source view and each shard's inline verifier).
struct worker {
  std::unique_ptr<byte_budget> budget;         // readers and writers
  std::unique_ptr<byte_budget> struct_budget;  // struct mode
  std::unique_ptr<slot_router> router;
  std::unique_ptr<slot_router> source_router;
  std::unique_ptr<inline_verify_context> verify_context;
  std::vector<std::unique_ptr<inline_verifier>> verifiers;
  std::vector<std::unique_ptr<shard_context>> shards;
};

/// Struct mode's sizes on a thread whose struct budget is `budget`: no element larger than the
/// budget is held, and chunks stay well under it.
rebuild_sizes struct_sizes(const byte_budget* budget) {
  rebuild_sizes sizes;
  if (budget == nullptr) return sizes;
  sizes.max_element_bytes = budget->capacity();
  sizes.chunk_bytes = std::clamp<std::size_t>(budget->capacity() / 8, 4096, sizes.chunk_bytes);
  sizes.whole_bytes = std::min(sizes.whole_bytes, sizes.chunk_bytes);
  return sizes;
}

}  // namespace

pass_result run_pass(const pass_services& services, const std::vector<shard_run>& runs,
                     std::chrono::milliseconds tick_every, const std::function<void()>& tick) {
  pass_result result;
  if (runs.empty()) return result;
  const copy_config& config = services.config;
  worker_pool pool(worker_pool::threads_for(config.tune.threads, runs.size()));
  const unsigned threads = pool.size();
  result.threads = threads;
  std::vector<worker> workers(threads);
  for (unsigned t = 0; t < threads; ++t) {
    worker& w = workers[t];
    const auto executor = pool.io(t).get_executor();
    // Half of each thread's share goes to struct mode, so that neither waits for memory the
    // other holds (a writer hands keys to struct mode; struct mode never waits on a reader).
    const std::size_t share = std::max<std::size_t>(config.tune.max_inflight_bytes / threads, 2);
    const bool structs = services.mode != nullptr && services.mode->can_rebuild;
    w.budget = std::make_unique<byte_budget>(executor, structs ? share - share / 2 : share);
    if (structs) w.struct_budget = std::make_unique<byte_budget>(executor, share / 2);
    w.budget->share_with(services.inflight);
    if (w.struct_budget) w.struct_budget->share_with(services.inflight);
    w.router = std::make_unique<slot_router>(executor, services.target, services.target_map,
                                             config.tune, services.control);
    const verify_services& v = services.verify;
    w.source_router = std::make_unique<slot_router>(executor, v.source, v.source_map, config.tune,
                                                    services.control);
    if (config.verify.enabled) {
      w.verify_context = std::make_unique<inline_verify_context>(
          inline_verify_context{config.verify, v.compare, config.tune, services.control, v.diffs,
                                v.warnings, *w.source_router, *w.router});
    }
  }
  for (std::size_t n = 0; n < runs.size(); ++n) {
    const shard_run& run = runs[n];
    const unsigned t = static_cast<unsigned>(n % threads);
    worker& w = workers[t];
    const std::string label = run.source.where.address();
    w.shards.push_back(std::make_unique<shard_context>(shard_context{
        .config = config,
        .index = run.index,
        .label = label,
        .source = run.source,
        .use_pexpiretime = services.use_pexpiretime,
        .paths = read_path_chooser{services.string_reads},
        .commands = services.commands,
        .start_cursor = run.start_cursor,
        .scanned = run.scanned,
        .slots = run.slots,
        .counters = *run.counters,
        .control = services.control,
        .failures = services.failures,
        .budget = *w.budget,
        .limiter = services.limiter,
        .warnings = services.warnings,
        .write = write_context{.tune = config.tune,
                               .policy = config.existing,
                               .resumed = services.resumed,
                               .rescan = run.rescan,
                               .index = run.index,
                               .label = label,
                               .counters = *run.counters,
                               .control = services.control,
                               .failures = services.failures,
                               .budget = *w.budget,
                               .router = *w.router,
                               .verify_sample = config.verify.enabled ? config.verify.sample : 0,
                               .meters = run.meters,
                               .mode = services.mode,
                               .rebuild = nullptr,
                               .warnings = &services.warnings},
        .ledger = scan_ledger{run.start_cursor, run.start_done, run.scanned},
        .position = *run.position,
        .sizing = batch_sizer{config.tune.batch_keys, config.tune.batch_bytes,
                              services.limiter.keys_per_sec()},
        .pace = {},
        .finished = false,
        .meters = run.meters,
        .big_key_bytes = config.big_key_bytes,
        .caps = services.caps,
        .sizes = struct_sizes(w.struct_budget.get()),
        .job_id = services.job_id,
        .struct_budget = w.struct_budget.get(),
        .source_map = w.source_router.get(),
        .sink = {},
    }));
    if (config.verify.enabled) {
      // As many comparers as writers, so that a full --verify keeps up with the copy.
      w.verifiers.push_back(std::make_unique<inline_verifier>(
          pool.io(t).get_executor(), *w.verify_context, *run.verified,
          std::max(1u, config.tune.writers_per_shard)));
      w.shards.back()->verify = w.verifiers.back().get();
    }
  }

  job_control& control = services.control;
  const auto on_error = [&control](std::exception_ptr error) {
    control.fail(fail_with(job_error::internal, "internal error: " + describe(error)));
  };
  pool.run(
      [&](unsigned t, asio::io_context& io) {
        std::vector<asio::awaitable<void>> flows;
        for (auto& shard : workers[t].shards) {
          flows.push_back(copy_shard(*shard));
          // A job built on the copy runs its own flow beside each shard (ferry sync's streaming
          // stage), on the shard's thread, for as long as it needs.
          if (config.extension != nullptr) flows.push_back(config.extension->beside(*shard));
        }
        run_flows_with_reauth(io, std::move(flows), on_error);
      },
      on_error, tick_every, tick);
  for (auto& w : workers) {
    result.peak_inflight_bytes +=
        w.budget->peak() + (w.struct_budget ? w.struct_budget->peak() : 0);
  }
  return result;
}

}  // namespace ferry::engine
