#include "engine/verify/verifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>

#include "engine/auth/idle_reauth.hpp"
#include "engine/cluster/sides.hpp"
#include "engine/runtime/worker_pool.hpp"
#include "engine/verify/diff_file.hpp"
#include "engine/verify/digest_scripts.hpp"
#include "engine/verify/verify_tasks.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

std::uint64_t verify_counts::differences() const noexcept {
  const auto& c = *this;
  return c[verify_counter::missing] + c[verify_counter::value] + c[verify_counter::type] +
         c[verify_counter::expiry] + c[verify_counter::extra];
}

std::uint64_t verify_counts::settled() const noexcept {
  const auto& c = *this;
  return c[verify_counter::equal] + c[verify_counter::missing] + c[verify_counter::value] +
         c[verify_counter::type] + c[verify_counter::expiry] + c[verify_counter::changed] +
         c[verify_counter::vanished];
}

verify_counts& verify_counts::operator+=(const verify_counts& other) noexcept {
  for (std::size_t i = 0; i < values.size(); ++i) values[i] += other.values[i];
  return *this;
}

verify_counter counter_of(difference kind) noexcept {
  switch (kind) {
    case difference::none:
      return verify_counter::equal;
    case difference::missing:
      return verify_counter::missing;
    case difference::extra:
      return verify_counter::extra;
    case difference::type:
      return verify_counter::type;
    case difference::value:
      return verify_counter::value;
    case difference::expiry:
      return verify_counter::expiry;
    case difference::changed:
      return verify_counter::changed;
  }
  return verify_counter::changed;
}

void verify_counters::add(const verify_counts& counts) noexcept {
  for (std::size_t i = 0; i < values_.size(); ++i) {
    if (counts.values[i] != 0) values_[i].fetch_add(counts.values[i], std::memory_order_relaxed);
  }
}

verify_counts verify_counters::snapshot() const noexcept {
  verify_counts out;
  for (std::size_t i = 0; i < values_.size(); ++i) {
    out.values[i] = values_[i].load(std::memory_order_relaxed);
  }
  return out;
}

void warning_list::add(const std::string& text) {
  std::lock_guard lock(mutex_);
  if (std::find(texts_.begin(), texts_.end(), text) == texts_.end()) texts_.push_back(text);
}

std::vector<std::string> warning_list::all() const {
  std::lock_guard lock(mutex_);
  return texts_;
}

namespace {

/// What the checks before comparing found out.
struct plan {
  inspected_sides sides;
  std::uint64_t estimated = 0;
};

/// One unit of work: a source master to compare, or a target master to search for extras.
struct task {
  bool extra = false;
  protocol::connection_options node;
};

/// One worker thread: its own io_context and views of both slot maps.
struct worker {
  std::unique_ptr<slot_router> source_map;
  std::unique_ptr<slot_router> target_map;
  std::unique_ptr<verify_context> context;
  std::vector<task> tasks;
};

maybe<void> check_served(const protocol::topology& map, const char* role) {
  if (auto gaps = map.unassigned(); !gaps.empty()) {
    return fail_with(errc::clusterdown,
                     fmt::format("the {} cluster does not serve slots {}-{} (and {} more ranges); "
                                 "fix the cluster before verifying",
                                 role, gaps.front().start, gaps.front().end, gaps.size() - 1));
  }
  return {};
}

asio::awaitable<maybe<plan>> prepare(const verify_config& config) {
  plan p;
  auto sides = co_await inspect_sides(config.source, config.target, config.tune,
                                      "comparing a database with itself proves nothing");
  if (!sides) co_return sides.error();
  p.sides = std::move(*sides);
  if (auto served = check_served(p.sides.source_facts.map, "source"); !served) {
    co_return served.error();
  }
  if (auto served = check_served(p.sides.target_facts.map, "target"); !served) {
    co_return served.error();
  }
  auto sizes = co_await key_counts(p.sides.source, p.sides.source_facts.map.masters(), "source");
  if (!sizes) co_return sizes.error();
  for (auto n : *sizes) p.estimated += n;
  co_return p;
}

protocol::connection_options node_options(const protocol::connection_options& seed,
                                          const protocol::cluster_node& node) {
  return protocol::at_node(seed, node.where.host, node.where.port);
}

}  // namespace

verifier::verifier(verify_config config) : config_(std::move(config)) {}

verify_report verifier::run() {
  const auto started = std::chrono::steady_clock::now();
  verify_report report;
  report.source = config_.source.where.redacted();
  report.target = config_.target.where.redacted();
  auto finish = [&]() -> verify_report& {
    report.totals = counters_.snapshot();
    report.warnings = warnings_.all();
    report.duration_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };

  auto prepared = run_blocking(prepare(config_));
  if (!prepared) {
    report.failure = prepared.error();
    return finish();
  }
  const inspected_sides& sides = prepared->sides;
  auto diffs = diff_file::open(config_.diff_path);
  if (!diffs) {
    report.failure = fail_with(job_error::output_file, diffs.error());
    return finish();
  }
  (*diffs)->on_error([this](const std::string& why) {
    control_.fail(
        fail_with(job_error::output_file,
                  fmt::format("{}; ferry stops rather than leave differences unrecorded", why)));
  });
  verify_counts estimate;
  estimate[verify_counter::estimated] = prepared->estimated;
  counters_.add(estimate);

  compare_options compare = config_.compare;
  // A server that hides its version gets PTTL, which every version answers.
  compare.source_pexpiretime = sides.source_facts.major_version >= 7;
  compare.target_pexpiretime = sides.target_facts.major_version >= 7;
  // Equal versions encode equal values alike: DUMP digests. Across versions they often do not.
  const digest_plan digests =
      plan_digest({sides.source_facts.major_version, sides.source_facts.minor_version},
                  {sides.target_facts.major_version, sides.target_facts.minor_version});
  compare.canonical_digest = digests.canonical;
  compare.source_field_ttls = compare.deep.source_field_ttls = digests.source_field_ttls;
  compare.target_field_ttls = compare.deep.target_field_ttls = digests.target_field_ttls;
  compare.stream_v7 = digests.stream_v7;
  compare.deep.ttl_tolerance_ms = compare.ttl_tolerance_ms;
  // Small strings are compared by value, read as the copy reads them, with no script.
  compare.direct_strings = true;

  std::vector<task> tasks;
  for (const auto& master : sides.source_facts.map.masters()) {
    tasks.push_back({false, node_options(sides.source, master)});
  }
  report.shards = tasks.size();
  if (config_.extra) {
    for (const auto& master : sides.target_facts.map.masters()) {
      tasks.push_back({true, node_options(sides.target, master)});
    }
  }
  worker_pool pool(worker_pool::threads_for(config_.tune.threads, tasks.size()));
  const unsigned threads = pool.size();
  report.threads = threads;
  std::vector<worker> workers(threads);
  for (unsigned t = 0; t < threads; ++t) {
    worker& w = workers[t];
    const auto executor = pool.io(t).get_executor();
    w.source_map = std::make_unique<slot_router>(executor, sides.source, sides.source_facts.map,
                                                 config_.tune, control_);
    w.target_map = std::make_unique<slot_router>(executor, sides.target, sides.target_facts.map,
                                                 config_.tune, control_);
    w.context = std::make_unique<verify_context>(verify_context{
        config_, compare, control_, counters_, **diffs, warnings_, *w.source_map, *w.target_map});
  }
  for (std::size_t i = 0; i < tasks.size(); ++i) workers[i % threads].tasks.push_back(tasks[i]);

  const auto on_error = [this](std::exception_ptr error) {
    control_.fail(fail_with(job_error::internal, "internal error: " + describe(error)));
  };
  pool.run(
      [&](unsigned t, asio::io_context& io) {
        worker& w = workers[t];
        std::vector<asio::awaitable<void>> flows;
        for (const task& job : w.tasks) {
          flows.push_back(job.extra ? find_extra_keys(*w.context, job.node)
                                    : verify_shard(*w.context, job.node));
        }
        run_flows_with_reauth(io, std::move(flows), on_error);
      },
      on_error);

  finish();
  const verify_counts& t = report.totals;
  const std::uint64_t unresolved =
      t.differences() + t[verify_counter::changed] - t[verify_counter::repaired];
  if (control_.failed()) {
    report.status = verify_status::fatal;
    report.failure = control_.failure();
  } else if (control_.draining()) {
    report.status = verify_status::interrupted;
  } else {
    report.status = unresolved == 0 ? verify_status::equal : verify_status::differences;
  }
  return report;
}

}  // namespace ferry::engine
