#include "engine/copy_job.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "engine/failed_keys.hpp"
#include "engine/sides.hpp"
#include "engine/shard.hpp"
#include "engine/target_router.hpp"
#include "protocol/discovery.hpp"
#include "protocol/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;
using protocol::failure;

namespace {

/// What the checks before copying found out.
struct plan {
  protocol::connection_options source;
  protocol::connection_options target;
  protocol::server_facts source_facts;
  protocol::server_facts target_facts;
  /// The source masters to copy, one shard each, and their DBSIZE.
  std::vector<protocol::cluster_node> shards;
  std::vector<std::uint64_t> estimates;
};

/// One worker thread: its own io_context, memory budget, target view and shards.
struct worker {
  asio::io_context io{1};
  std::unique_ptr<byte_budget> budget;
  std::unique_ptr<target_router> router;
  std::vector<std::unique_ptr<shard_context>> shards;
  std::thread thread;
};

/// Everything that must hold before the first key moves.
asio::awaitable<maybe<plan>> prepare(const copy_config& config) {
  plan p;
  auto sides = co_await inspect_sides(config.source, config.target, config.tune,
                                      "ferry will not copy a database onto itself");
  if (!sides) co_return sides.error();
  p.source = std::move(sides->source);
  p.target = std::move(sides->target);
  p.source_facts = std::move(sides->source_facts);
  p.target_facts = std::move(sides->target_facts);

  for (const auto& master : p.source_facts.map.masters()) {
    const bool wanted =
        !config.slots || std::any_of(master.slots.begin(), master.slots.end(),
                                     [&](auto range) { return range.overlaps(*config.slots); });
    if (wanted) p.shards.push_back(master);
  }
  if (auto gaps = p.source_facts.map.unassigned(); !gaps.empty()) {
    co_return fail_with(errc::clusterdown,
                        fmt::format("the source cluster does not serve slots {}-{} (and {} more "
                                    "ranges); fix the cluster before copying",
                                    gaps.front().start, gaps.front().end, gaps.size() - 1));
  }
  auto estimates = co_await key_counts(p.source, p.shards, "source");
  if (!estimates) co_return estimates.error();
  p.estimates = std::move(*estimates);

  if (config.existing == existing_policy::unset) {
    auto held = co_await key_counts(p.target, p.target_facts.map.masters(), "target");
    if (!held) co_return held.error();
    std::uint64_t total = 0;
    for (auto n : *held) total += n;
    if (total != 0) {
      co_return fail_with(
          errc::busykey,
          fmt::format("the target {} (db {}) already holds {} keys; ferry writes into a non-empty "
                      "target only when told what to do with keys that exist there: "
                      "--on-existing fail (keep them, report each as failed), skip (keep them, "
                      "count them as skipped) or replace (overwrite them)",
                      p.target.where.address(), p.target.where.db, total));
    }
  }
  co_return p;
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

  auto prepared = run_blocking(prepare(config_));
  if (!prepared) {
    report.failure = prepared.error();
    return finish(report);
  }
  plan& p = *prepared;
  auto sink = failed_keys::open(config_.failed_keys_path);
  if (!sink) {
    report.failure = fail_with(errc::server_error, sink.error());
    return finish(report);
  }
  {
    std::lock_guard lock(shards_mutex_);
    for (std::size_t i = 0; i < p.shards.size(); ++i) {
      counters_.push_back(std::make_unique<shard_counters>());
      counters_.back()->estimated = p.estimates[i];
    }
  }

  const unsigned wanted = config_.tune.threads != 0 ? config_.tune.threads
                                                    : std::max(1u, std::thread::hardware_concurrency());
  const unsigned threads = static_cast<unsigned>(std::min<std::size_t>(wanted, p.shards.size()));
  report.threads = threads;
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    auto w = std::make_unique<worker>();
    w->budget = std::make_unique<byte_budget>(w->io.get_executor(),
                                              std::max<std::size_t>(config_.tune.max_inflight_bytes / threads, 1));
    w->router = std::make_unique<target_router>(w->io.get_executor(), p.target,
                                                p.target_facts.map, config_.tune, control_);
    workers.push_back(std::move(w));
  }
  for (std::size_t i = 0; i < p.shards.size(); ++i) {
    worker& w = *workers[i % threads];
    protocol::connection_options source = p.source;
    source.where.host = p.shards[i].where.host;
    source.where.port = p.shards[i].where.port;
    w.shards.push_back(std::make_unique<shard_context>(shard_context{
        .config = config_,
        .index = i,
        .label = source.where.address(),
        .source = std::move(source),
        .use_pexpiretime = p.source_facts.major_version >= 7,
        .start_cursor = 0,
        .counters = *counters_[i],
        .control = control_,
        .failures = **sink,
        .budget = *w.budget,
        .router = *w.router,
        .ledger = scan_ledger{0},
    }));
  }
  for (auto& w : workers) {
    w->thread = std::thread([this, &w = *w] {
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
    });
  }
  for (auto& w : workers) w->thread.join();

  bool all_complete = true;
  for (auto& w : workers) {
    report.peak_inflight_bytes += w->budget->peak();
    for (auto& shard : w->shards) {
      shard_report entry{shard->label, shard->counters.snapshot(), shard->ledger.committed_cursor(),
                         shard->ledger.complete()};
      all_complete = all_complete && entry.complete;
      report.totals += entry.totals;
      report.shards.push_back(std::move(entry));
    }
  }
  std::sort(report.shards.begin(), report.shards.end(),
            [](const auto& a, const auto& b) { return a.source < b.source; });
  if (control_.failed()) {
    report.status = job_status::fatal;
    report.failure = control_.failure();
  } else if (!all_complete) {
    report.status = job_status::interrupted;
  } else {
    report.status = report.totals.failed != 0 ? job_status::keys_failed : job_status::complete;
  }
  return finish(report);
}

}  // namespace ferry::engine
