#include "engine/copy_job.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include "engine/failed_keys.hpp"
#include "engine/shard.hpp"
#include "engine/target_router.hpp"
#include "protocol/discovery.hpp"
#include "protocol/errors.hpp"
#include "protocol/tls.hpp"

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

template <class T>
using maybe = boost::system::result<T, failure>;

failure fail_with(errc code, std::string message) {
  return failure{make_error_code(code), std::move(message)};
}

maybe<protocol::connection_options> base_options(const side& s, const tuning& tune,
                                                 const char* role) {
  protocol::connection_options options;
  options.where = s.where;
  options.server_name = s.tls.server_name;
  options.verify_host = !s.tls.insecure;
  options.login = s.login;
  options.connect_timeout = tune.connect_timeout;
  options.io_timeout = tune.io_timeout;
  if (s.where.tls) {
    auto context = protocol::make_tls_context(s.tls);
    if (!context) return fail_with(errc::tls_failed, fmt::format("{}: {}", role, context.error()));
    options.tls = std::move(*context);
  }
  return options;
}

/// Connects to a side's seed node and asks what it is.
asio::awaitable<maybe<protocol::server_facts>> inspect(const protocol::connection_options& options,
                                                       const char* role) {
  protocol::connection seed(co_await asio::this_coro::executor, options);
  if (auto ec = co_await seed.connect()) {
    co_return failure{ec, fmt::format("cannot use the {} {}: {}", role, options.where.redacted(),
                                      seed.last_error())};
  }
  auto facts = co_await protocol::discover(seed);
  if (!facts) {
    co_return failure{facts.error().code, fmt::format("{}: {}", role, facts.error().message)};
  }
  co_return std::move(*facts);
}

/// DBSIZE of each node, in the db of `base`.
asio::awaitable<maybe<std::vector<std::uint64_t>>> key_counts(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes,
    const char* role) {
  std::vector<std::uint64_t> sizes;
  for (const auto& node : nodes) {
    protocol::connection_options options = base;
    options.where.host = node.where.host;
    options.where.port = node.where.port;
    protocol::connection c(co_await asio::this_coro::executor, options);
    if (auto ec = co_await c.connect()) {
      co_return failure{ec, fmt::format("cannot use {} node {}: {}", role, node.where.address(),
                                        c.last_error())};
    }
    protocol::command_buffer commands;
    commands.push({"DBSIZE"});
    std::vector<protocol::reply> replies;
    if (auto ec = co_await c.exec(commands, replies)) co_return failure{ec, c.last_error()};
    if (replies[0].is_error()) {
      co_return fail_with(protocol::classify_error_reply(replies[0].text()),
                          fmt::format("{} node {}: DBSIZE refused: {}", role,
                                      node.where.address(), replies[0].text()));
    }
    sizes.push_back(static_cast<std::uint64_t>(std::max<std::int64_t>(replies[0].integer, 0)));
  }
  co_return sizes;
}

/// Everything that must hold before the first key moves.
asio::awaitable<maybe<plan>> prepare(const copy_config& config) {
  plan p;
  auto source = base_options(config.source, config.tune, "source");
  if (!source) co_return source.error();
  auto target = base_options(config.target, config.tune, "target");
  if (!target) co_return target.error();
  p.source = std::move(*source);
  p.target = std::move(*target);

  auto source_facts = co_await inspect(p.source, "source");
  if (!source_facts) co_return source_facts.error();
  p.source_facts = std::move(*source_facts);
  auto target_facts = co_await inspect(p.target, "target");
  if (!target_facts) co_return target_facts.error();
  p.target_facts = std::move(*target_facts);

  if (p.source_facts.map.is_cluster() && p.source.where.db != 0) {
    co_return fail_with(errc::server_error,
                        fmt::format("the source {} is a cluster, which has only database 0; drop "
                                    "--source-db {}",
                                    p.source.where.address(), p.source.where.db));
  }
  if (p.target_facts.map.is_cluster() && p.target.where.db != 0) {
    co_return fail_with(errc::server_error,
                        fmt::format("the target {} is a cluster, which has only database 0; drop "
                                    "--target-db {}",
                                    p.target.where.address(), p.target.where.db));
  }
  if (!p.source_facts.run_id.empty() && p.source_facts.run_id == p.target_facts.run_id &&
      p.source.where.db == p.target.where.db) {
    co_return fail_with(errc::server_error,
                        fmt::format("the source and the target are the same server ({}, db {}); "
                                    "ferry will not copy a database onto itself",
                                    p.target.where.address(), p.target.where.db));
  }

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

template <class T>
T run_blocking(asio::awaitable<T> task) {
  asio::io_context io{1};
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

std::string describe(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
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
