#include "engine/copy_job.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "engine/copy_plan.hpp"
#include "engine/failed_keys.hpp"
#include "engine/shard.hpp"
#include "engine/target_router.hpp"
#include "engine/target_watch.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;
using protocol::failure;

namespace {

/// One worker thread: its own io_context, memory budget, target view and shards.
struct worker {
  asio::io_context io{1};
  std::unique_ptr<byte_budget> budget;
  std::unique_ptr<target_router> router;
  std::vector<std::unique_ptr<shard_context>> shards;
  std::thread thread;
};

/// Loads the state file to resume, or makes sure a fresh job does not overwrite one.
maybe<std::optional<checkpoint>> previous_state(const copy_config& config) {
  const checkpointing& state = config.state;
  if (state.path.empty()) return std::optional<checkpoint>{};
  if (!state.resume) {
    if (std::filesystem::exists(state.path)) {
      return fail_with(errc::server_error,
                       fmt::format("the state file '{}' already exists: add --resume to continue "
                                   "that job, or remove the file to start over",
                                   state.path));
    }
    return std::optional<checkpoint>{};
  }
  if (!std::filesystem::exists(state.path)) {
    return fail_with(errc::server_error,
                     fmt::format("--resume: the state file '{}' does not exist", state.path));
  }
  auto loaded = load_checkpoint(state.path);
  if (!loaded) return fail_with(errc::server_error, loaded.error());
  const job_identity now = identity_of(config);
  if (loaded->job != now) {
    return fail_with(errc::server_error,
                     fmt::format("--resume: the state file '{}' belongs to another job ({}); "
                                 "run with the same source, target and filters, or remove the "
                                 "file to start over",
                                 state.path, describe_differences(loaded->job, now)));
  }
  return std::optional<checkpoint>{std::move(*loaded)};
}

/// Adds to a fatal OOM message what a person needs to size the target.
std::string explain_oom(const std::string& message, const counts& totals) {
  const std::uint64_t left = totals.estimated > totals.settled()
                                 ? totals.estimated - totals.settled()
                                 : 0;
  const double per_key = totals.copied != 0
                             ? static_cast<double>(totals.bytes) / static_cast<double>(totals.copied)
                             : 0.0;
  return fmt::format(
      "{}. About {} keys (~{:.1f} MB of DUMP payload) remain to be copied: raise the target's "
      "maxmemory or move to a larger SKU, then run the same command again with --resume to "
      "continue where this run stopped",
      message, left, static_cast<double>(left) * per_key / 1e6);
}

}  // namespace

copy_job::copy_job(copy_config config) : config_(std::move(config)) {}
copy_job::~copy_job() = default;

counts copy_job::progress() const {
  std::lock_guard lock(shards_mutex_);
  counts total;
  for (const auto& shard : counters_) total += shard->snapshot();
  return total;
}

copy_report copy_job::run() {
  const auto started = std::chrono::steady_clock::now();
  copy_report report;
  report.source = config_.source.where.redacted();
  report.target = config_.target.where.redacted();
  auto finish = [&](copy_report& r) -> copy_report& {
    r.duration_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
  };

  auto previous = previous_state(config_);
  if (!previous) {
    report.failure = previous.error();
    return finish(report);
  }
  const bool resuming = previous->has_value();
  report.resumed = resuming;
  // Keys the earlier run wrote are ours: with no policy given, a resumed job overwrites them.
  if (resuming && config_.existing == existing_policy::unset) {
    config_.existing = existing_policy::replace;
  }
  auto planned = run_blocking(plan_copy(config_, resuming ? &**previous : nullptr));
  if (!planned) {
    report.failure = planned.error();
    return finish(report);
  }
  copy_plan& p = *planned;
  auto sink = failed_keys::open(config_.failed_keys_path, resuming);
  if (!sink) {
    report.failure = fail_with(errc::server_error, sink.error());
    return finish(report);
  }
  {
    std::lock_guard lock(shards_mutex_);
    for (const auto& shard : p.shards) {
      counters_.push_back(std::make_unique<shard_counters>());
      counters_.back()->set(shard.start.done);
      counters_.back()->estimated = std::max(shard.estimate, shard.start.done.settled());
      positions_.push_back(std::make_unique<published_position>());
      positions_.back()->set(shard.start);
    }
  }
  auto state_of = [&](const char* status) {
    checkpoint state;
    state.job = p.identity;
    state.status = status;
    for (std::size_t i = 0; i < p.shards.size(); ++i) {
      state.shards.push_back({p.shards[i].node.address(), p.shards[i].node_id,
                              p.shards[i].run_id, positions_[i]->get()});
    }
    return state;
  };
  if (!config_.state.path.empty()) {
    if (auto saved = save_checkpoint(config_.state.path, state_of("running")); !saved) {
      report.failure = fail_with(errc::server_error, saved.error());
      return finish(report);
    }
  }

  // Shards that an earlier run finished are not scanned again.
  std::vector<std::size_t> to_run;
  for (std::size_t i = 0; i < p.shards.size(); ++i) {
    if (!p.shards[i].start.complete) to_run.push_back(i);
  }
  const unsigned wanted = config_.tune.threads != 0
                              ? config_.tune.threads
                              : std::max(1u, std::thread::hardware_concurrency());
  const unsigned threads =
      static_cast<unsigned>(std::min<std::size_t>(wanted, std::max<std::size_t>(to_run.size(), 1)));
  report.threads = to_run.empty() ? 0 : threads;
  rate_limiter limiter(config_.protect.max_keys_per_sec, config_.protect.max_bytes_per_sec);
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < threads && !to_run.empty(); ++t) {
    auto w = std::make_unique<worker>();
    w->budget = std::make_unique<byte_budget>(
        w->io.get_executor(), std::max<std::size_t>(config_.tune.max_inflight_bytes / threads, 1));
    w->router = std::make_unique<target_router>(w->io.get_executor(), p.sides.target,
                                                p.sides.target_facts.map, config_.tune, control_,
                                                p.sides.target_facts.max_bulk_len);
    workers.push_back(std::move(w));
  }
  for (std::size_t n = 0; n < to_run.size(); ++n) {
    const std::size_t i = to_run[n];
    worker& w = *workers[n % workers.size()];
    protocol::connection_options source = p.sides.source;
    source.where.host = p.shards[i].node.host;
    source.where.port = p.shards[i].node.port;
    source.readonly = p.sides.source_facts.map.is_cluster();
    w.shards.push_back(std::make_unique<shard_context>(shard_context{
        .config = config_,
        .index = i,
        .label = source.where.address(),
        .source = std::move(source),
        .use_pexpiretime = p.sides.source_facts.major_version >= 7,
        .start_cursor = p.shards[i].start.cursor,
        .resumed = resuming,
        .counters = *counters_[i],
        .control = control_,
        .failures = **sink,
        .budget = *w.budget,
        .router = *w.router,
        .ledger = scan_ledger{p.shards[i].start.cursor, p.shards[i].start.done},
        .position = *positions_[i],
        .limiter = limiter,
    }));
  }

  std::mutex done_mutex;
  std::condition_variable done;
  std::size_t running = workers.size();
  for (auto& w : workers) {
    w->thread = std::thread([&, &w = *w] {
      for (auto& shard : w.shards) {
        asio::co_spawn(w.io, copy_shard(*shard), [this](std::exception_ptr error) {
          if (error) {
            control_.fail(fail_with(errc::server_error, "internal error: " + describe(error)));
          }
        });
      }
      try {
        w.io.run();
      } catch (...) {
        control_.fail(fail_with(errc::server_error,
                                "internal error: " + describe(std::current_exception())));
      }
      std::lock_guard lock(done_mutex);
      --running;
      done.notify_all();
    });
  }
  // The calling thread keeps the state file fresh and watches the target for lost data.
  target_watch watch(p.sides.target, p.sides.target_facts.map);
  watch.check(report.warnings);
  {
    std::unique_lock lock(done_mutex);
    while (running != 0) {
      if (done.wait_for(lock, config_.state.interval, [&] { return running == 0; })) break;
      lock.unlock();
      if (!config_.state.path.empty()) {
        if (auto saved = save_checkpoint(config_.state.path, state_of("running")); !saved) {
          control_.fail(fail_with(errc::server_error, saved.error()));
        }
      }
      watch.check(report.warnings);
      lock.lock();
    }
  }
  for (auto& w : workers) w->thread.join();
  watch.check(report.warnings);

  bool all_complete = true;
  for (std::size_t i = 0; i < p.shards.size(); ++i) {
    const shard_position position = positions_[i]->get();
    shard_report entry{p.shards[i].node.address(), counters_[i]->snapshot(), position.cursor,
                       position.complete, p.shards[i].start.cursor, p.shards[i].from_state};
    all_complete = all_complete && entry.complete;
    report.totals += entry.totals;
    report.this_run += entry.totals;
    report.this_run -= p.shards[i].start.done;
    report.shards.push_back(std::move(entry));
  }
  for (auto& w : workers) report.peak_inflight_bytes += w->budget->peak();
  const char* status = "complete";
  if (control_.failed()) {
    report.status = job_status::fatal;
    report.failure = control_.failure();
    if (report.failure && report.failure->code == errc::oom) {
      report.failure->message = explain_oom(report.failure->message, report.totals);
    }
    status = "failed";
  } else if (!all_complete) {
    report.status = job_status::interrupted;
    status = "interrupted";
  } else {
    report.status = report.totals.failed != 0 ? job_status::keys_failed : job_status::complete;
  }
  if (!config_.state.path.empty()) {
    if (auto saved = save_checkpoint(config_.state.path, state_of(status)); !saved) {
      report.warnings.push_back(saved.error());
    }
  }
  return finish(report);
}

}  // namespace ferry::engine
