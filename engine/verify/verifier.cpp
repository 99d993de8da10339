#include "engine/verify/verifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "engine/auth/idle_reauth.hpp"
#include "engine/cluster/sides.hpp"
#include "engine/runtime/worker_pool.hpp"
#include "engine/verify/diff_file.hpp"
#include "engine/verify/digest_scripts.hpp"
#include "engine/verify/extra_proof.hpp"
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

/// One unit of work: a source master to compare, a target master to search for extras, or the
/// watch that may start that search early (node unused).
struct task {
  enum class kind { compare, extra, watch };
  kind what = kind::compare;
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

/// The thread that runs the target's pass beside the source pass: joined by join(), or on
/// destruction after cancelling a gate left undecided (so that an exception cannot leave it
/// waiting for ever).
class beside_pass {
 public:
  beside_pass(std::function<void()> body, extra_gate& gate)
      : gate_(gate), thread_(std::move(body)) {}
  ~beside_pass() {
    if (!gate_.decided()) gate_.cancel();
    join();
  }
  beside_pass(const beside_pass&) = delete;
  beside_pass& operator=(const beside_pass&) = delete;
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  extra_gate& gate_;
  std::thread thread_;
};

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

  std::vector<task> compare_tasks;
  for (const auto& master : sides.source_facts.map.masters()) {
    compare_tasks.push_back({task::kind::compare, node_options(sides.source, master)});
  }
  report.shards = compare_tasks.size();
  std::vector<task> extra_tasks;
  if (config_.extra) {
    for (const auto& master : sides.target_facts.map.masters()) {
      extra_tasks.push_back({task::kind::extra, node_options(sides.target, master)});
    }
  }

  // The extra-key pass can be proven unnecessary by a count (extra_proof.hpp) only if the
  // target's key set is the one the source pass compares with, and a job that must list the
  // extra keys has no use for the proof.
  std::vector<node_state> before;
  bool proving = false;
  if (!config_.extra) {
    report.extra = extra_pass::off;
  } else if (config_.delete_extra) {
    report.extra_why = "--repair-delete-extra needs the extra keys listed";
  } else if (!config_.match.empty()) {
    report.extra_why = "--match: the target's key count includes keys outside the pattern";
  } else if (auto states =
                 run_blocking(read_node_states(sides.target, sides.target_facts.map.masters()));
             !states) {
    report.extra_why = states.error().message;
  } else {
    before = std::move(*states);
    proving = true;
  }

  const auto on_error = [this](std::exception_ptr error) {
    control_.fail(fail_with(job_error::internal, "internal error: " + describe(error)));
  };
  const watched_sides watched{sides.source, sides.source_facts.map.masters(), sides.target,
                              sides.target_facts.map.masters()};
  // Runs `tasks` on worker threads (each with its own views of both slot maps) and returns how
  // many; with `present`, each thread notes the keys found present on the target, merged into
  // it at the end; with `gate`, the target's passes wait on it (and a watch task may start it).
  const auto run_tasks = [&](const std::vector<task>& tasks, key_hash_set* present,
                             extra_gate* gate) {
    worker_pool pool(worker_pool::threads_for(config_.tune.threads, tasks.size()));
    const unsigned threads = pool.size();
    std::vector<worker> workers(threads);
    std::vector<key_hash_set> notes(
        present != nullptr ? threads : 0,
        key_hash_set(present != nullptr ? present->limit() / threads : 0));
    for (unsigned t = 0; t < threads; ++t) {
      worker& w = workers[t];
      const auto executor = pool.io(t).get_executor();
      w.source_map = std::make_unique<slot_router>(executor, sides.source, sides.source_facts.map,
                                                   config_.tune, control_);
      w.target_map = std::make_unique<slot_router>(executor, sides.target, sides.target_facts.map,
                                                   config_.tune, control_);
      w.context = std::make_unique<verify_context>(
          verify_context{config_, compare, control_, counters_, **diffs, warnings_, *w.source_map,
                         *w.target_map, present != nullptr ? &notes[t] : nullptr, gate});
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) workers[i % threads].tasks.push_back(tasks[i]);
    pool.run(
        [&](unsigned t, asio::io_context& io) {
          worker& w = workers[t];
          std::vector<asio::awaitable<void>> flows;
          for (const task& job : w.tasks) {
            switch (job.what) {
              case task::kind::compare:
                flows.push_back(verify_shard(*w.context, job.node));
                break;
              case task::kind::extra:
                flows.push_back(find_extra_keys(*w.context, job.node));
                break;
              case task::kind::watch:
                flows.push_back(start_on_writes(*w.context, *gate, watched));
                break;
            }
          }
          run_flows_with_reauth(io, std::move(flows), on_error);
        },
        on_error);
    if (present != nullptr) {
      for (auto& n : notes) present->merge(std::move(n));
    }
    return threads;
  };

  if (!proving) {
    // Both passes at once, as they do not depend on each other.
    std::vector<task> all = compare_tasks;
    all.insert(all.end(), extra_tasks.begin(), extra_tasks.end());
    report.threads = run_tasks(all, nullptr, nullptr);
    if (config_.extra) report.extra = extra_pass::ran;
  } else {
    key_hash_set present;
    // The target's pass runs beside the source pass on threads of its own, waiting on the gate:
    // it scans early once the watch sees a side written, and looks keys up only after a failed
    // judgement.
    extra_gate gate;
    std::vector<task> beside_tasks = extra_tasks;
    beside_tasks.push_back({task::kind::watch, {}});
    unsigned beside_threads = 0;
    beside_pass beside([&] { beside_threads = run_tasks(beside_tasks, nullptr, &gate); }, gate);
    report.threads = run_tasks(compare_tasks, &present, nullptr);
    if (control_.failed() || control_.draining()) {
      gate.cancel();
      report.extra = extra_pass::not_run;
      report.extra_why = "the job ended before it";
    } else {
      const bool overflowed = present.overflowed();
      const std::uint64_t found = present.distinct();
      auto after = run_blocking(read_node_states(sides.target, sides.target_facts.map.masters()));
      std::optional<std::string> why;
      if (overflowed) {
        why = fmt::format(
            "the source pass found more than {} keys on the target, more than the "
            "count keeps in memory",
            present.limit());
      } else if (!after) {
        why = after.error().message;
      } else {
        why = judge_extra_proof(before, *after, found);
      }
      report.extra_early = gate.now() == extra_gate::state::scanning;
      if (!why) {
        gate.cancel();
        report.extra = extra_pass::proven;
        report.extra_why = fmt::format(
            "the target holds {} keys, each found there by the source pass, and was not written "
            "during the check",
            found);
      } else {
        report.extra = extra_pass::ran;
        report.extra_why = std::move(*why);
        // Only the target's keys the comparison did not find there are looked up on the source
        // (a live source's verify would otherwise pay for a second pass over every key).
        gate.open(overflowed ? nullptr : &present);
      }
    }
    beside.join();
    report.threads = std::max(report.threads, beside_threads);
  }

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
