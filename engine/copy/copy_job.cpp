#include "engine/copy/copy_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/copy/copy_plan.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/shard_pass.hpp"
#include "engine/topology/source_watch.hpp"
#include "engine/topology/target_watch.hpp"
#include "engine/verify/diff_file.hpp"

namespace ferry::engine {

using protocol::errc;
using protocol::failure;

namespace {

/// How often the calling thread looks at the source cluster while shards run: often enough to
/// see a slot in the middle of its migration, which takes at least a few round trips.
constexpr std::chrono::milliseconds look_interval{500};
/// Rescan passes before a source that keeps moving slots stops the job.
constexpr int max_rescan_rounds = 5;

/// What the inline verifier compares: values too, with the user's tolerance and patience.
compare_options inline_compare_options(const copy_config& config, const inspected_sides& sides) {
  compare_options options;
  options.mode = compare_mode::full;
  options.ttl_tolerance_ms = config.verify.ttl_tolerance_ms;
  options.rounds = std::max(1u, config.verify.rounds);
  options.recheck_pause = config.verify.recheck_pause;
  // A server that hides its version gets PTTL, which every version answers.
  options.source_pexpiretime = sides.source_facts.major_version >= 7;
  options.target_pexpiretime = sides.target_facts.major_version >= 7;
  return options;
}

/// Loads the state file to resume, or makes sure a fresh job does not overwrite one.
maybe<std::optional<checkpoint>> previous_state(const copy_config& config) {
  const checkpointing& state = config.state;
  if (state.path.empty()) return std::optional<checkpoint>{};
  if (!state.resume) {
    if (std::filesystem::exists(state.path)) {
      return fail_with(job_error::state_file,
                       fmt::format("the state file '{}' already exists: add --resume to continue "
                                   "that job, or remove the file to start over",
                                   state.path));
    }
    return std::optional<checkpoint>{};
  }
  if (!std::filesystem::exists(state.path)) {
    return fail_with(job_error::state_file,
                     fmt::format("--resume: the state file '{}' does not exist", state.path));
  }
  auto loaded = load_checkpoint(state.path);
  if (!loaded) return fail_with(job_error::state_file, loaded.error());
  const job_identity now = identity_of(config);
  if (loaded->job != now) {
    return fail_with(job_error::state_file,
                     fmt::format("--resume: the state file '{}' belongs to another job ({}); "
                                 "run with the same source, target and filters, or remove the "
                                 "file to start over",
                                 state.path, describe_differences(loaded->job, now)));
  }
  return std::optional<checkpoint>{std::move(*loaded)};
}

/// Adds to a fatal OOM message what a person needs to size the target.
std::string explain_oom(const std::string& message, const counts& totals) {
  const std::uint64_t left =
      totals.estimated > totals.settled() ? totals.estimated - totals.settled() : 0;
  const double per_key =
      totals.copied != 0 ? static_cast<double>(totals.bytes) / static_cast<double>(totals.copied)
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
    report.failure = fail_with(job_error::output_file, sink.error());
    return finish(report);
  }
  const bool verifying = config_.verify.enabled;
  auto diffs = diff_file::open(verifying ? config_.verify.diff_path : std::string{});
  if (!diffs) {
    report.failure = fail_with(job_error::output_file, diffs.error());
    return finish(report);
  }
  warning_list verify_warnings;
  report.verified = verifying;
  report.verify_sample = config_.verify.sample;
  // Counters and positions of every shard, rescans included; the plan's shards come first.
  auto add_shard = [&](const shard_position& start, std::uint64_t estimate) {
    std::lock_guard lock(shards_mutex_);
    counters_.push_back(std::make_unique<shard_counters>());
    counters_.back()->set(start.done);
    counters_.back()->estimated = estimate;
    positions_.push_back(std::make_unique<published_position>());
    positions_.back()->set(start);
    verified_.push_back(std::make_unique<verify_counters>());
    return counters_.size() - 1;
  };
  for (const auto& shard : p.shards) {
    add_shard(shard.start, std::max(shard.estimate, shard.start.done.settled()));
  }

  // Slots the source cluster moves while they are scanned (calling thread only).
  const bool cluster = p.sides.source_facts.map.is_cluster();
  slot_watch slots;
  slots.mark(p.moved);
  slot_set rescanning;  // the moved slots of the rescan pass under way
  source_watch source(p.sides.source, p.sides.source_facts.map);
  bool told_blind = false;
  auto observe = [&](const source_view& view) {
    slots.observe(view.map, view.in_flux);
    if (view.blind && !told_blind) {
      told_blind = true;
      report.warnings.push_back(
          "a source master refuses CLUSTER NODES, so ferry sees a slot migration only once it has "
          "finished; allow CLUSTER NODES for ferry's user, or do not reshard the source until the "
          "copy has ended");
    }
  };

  auto state_of = [&](const char* status) {
    checkpoint state;
    state.job = p.identity;
    state.status = status;
    for (std::size_t i = 0; i < p.shards.size(); ++i) {
      state.shards.push_back({p.shards[i].node.address(), p.shards[i].node_id, p.shards[i].run_id,
                              positions_[i]->get(), p.shards[i].slots});
    }
    // A rescan is not resumed from a cursor: its slots stay moved until it ends.
    state.moved = slots.moved() | rescanning;
    return state;
  };
  auto save = [&](const char* status) {
    if (config_.state.path.empty()) return;
    if (auto saved = save_checkpoint(config_.state.path, state_of(status)); !saved) {
      control_.fail(fail_with(job_error::state_file, saved.error()));
    }
  };
  auto source_options = [&](const protocol::endpoint& node) {
    protocol::connection_options options = p.sides.source;
    options.where.host = node.host;
    options.where.port = node.port;
    options.readonly = cluster;
    return options;
  };

  // The first pass: every shard an earlier run did not finish.
  std::vector<shard_run> runs;
  for (std::size_t i = 0; i < p.shards.size(); ++i) {
    const shard_plan& shard = p.shards[i];
    if (shard.start.complete) continue;
    const bool every_slot = !cluster && !config_.slots;
    runs.push_back({i, source_options(shard.node), shard.start.cursor, shard.start.done,
                    every_slot ? nullptr : std::make_shared<const slot_set>(shard.slots), false,
                    counters_[i].get(), positions_[i].get(), verified_[i].get()});
    if (cluster) slots.watch(shard.slots, shard.node_id);
  }
  // A slot already moving when the scans begin is rescanned too.
  if (cluster) {
    if (auto view = source.look()) observe(*view);
  }
  save("running");
  if (control_.failed()) {
    report.failure = control_.failure();
    return finish(report);
  }

  // While shards run, the calling thread looks at the source cluster, keeps the state file
  // fresh and watches the target for lost data.
  target_watch watch(p.sides.target, p.sides.target_facts.map);
  watch.check(report.warnings);
  auto last_save = std::chrono::steady_clock::now();
  std::vector<bool> released;
  auto tick = [&] {
    if (cluster) {
      // A shard that ended before this look is released after it: the look covers its end.
      std::vector<std::size_t> ended;
      for (std::size_t n = 0; n < runs.size(); ++n) {
        if (!released[n] && runs[n].position->get().complete) ended.push_back(n);
      }
      if (auto view = source.look()) {
        observe(*view);
        for (const auto n : ended) {
          slots.release(*runs[n].slots);
          released[n] = true;
        }
      }
    }
    if (std::chrono::steady_clock::now() - last_save >= config_.state.interval) {
      save("running");
      watch.check(report.warnings);
      last_save = std::chrono::steady_clock::now();
    }
  };
  const auto tick_every =
      cluster ? std::min(look_interval, config_.state.interval) : config_.state.interval;

  // After a pass, one last look covers every shard's end. A moved slot is rescanned only once it
  // stands still on one owner; a source that never settles stops the job.
  auto settle_source = [&]() -> std::optional<source_view> {
    const auto deadline = std::chrono::steady_clock::now() + config_.tune.max_retry_time;
    std::string why;
    for (int attempt = 0; attempt < 100'000 && !control_.stopping(); ++attempt) {
      auto view = source.look();
      if (view) {
        observe(*view);
        slots.release(slots.watched());
        if ((view->in_flux & slots.moved()).none()) return std::move(*view);
        why = fmt::format("slots {} are still migrating", slot_text(view->in_flux & slots.moved()));
      } else {
        why = view.error().message;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds{200});
    }
    if (!control_.stopping()) {
      control_.fail(fail_with(
          errc::clusterdown,
          fmt::format("the source cluster did not settle within --max-retry-time ({}); slots {} "
                      "moved during the copy and are not rescanned yet: run the same command "
                      "with --resume once the resharding is over",
                      why, slot_text(slots.moved() | rescanning))));
    }
    return std::nullopt;
  };

  rate_limiter limiter(config_.protect.max_keys_per_sec, config_.protect.max_bytes_per_sec);
  const pass_services services{
      config_,
      p.sides.target,
      p.sides.target_facts.map,
      control_,
      **sink,
      limiter,
      resuming,
      p.sides.source_facts.major_version >= 7,
      {p.sides.source, p.sides.source_facts.map, inline_compare_options(config_, p.sides), **diffs,
       verify_warnings}};
  std::vector<shard_run> rescans;  // every rescan of the job, for the report
  for (int round = 0;; ++round) {
    released.assign(runs.size(), false);
    const pass_result used = run_pass(services, runs, tick_every, tick);
    report.threads = std::max(report.threads, used.threads);
    report.peak_inflight_bytes = std::max(report.peak_inflight_bytes, used.peak_inflight_bytes);
    if (round > 0) rescans.insert(rescans.end(), runs.begin(), runs.end());
    if (control_.stopping() || !cluster) break;
    const auto view = settle_source();
    if (!view) break;
    rescanning.reset();
    if (slots.moved().none()) break;
    if (round == max_rescan_rounds) {
      control_.fail(fail_with(
          errc::clusterdown,
          fmt::format("the source cluster kept moving slots during {} rescans (last: {}); run the "
                      "same command with --resume once the resharding is over",
                      max_rescan_rounds, slot_text(slots.moved()))));
      break;
    }
    // Rescan the moved slots on the masters that own them now, from the start of their scan.
    rescanning = slots.take_moved();
    report.warnings.push_back(fmt::format(
        "the source cluster moved slots {} while ferry scanned them; they were rescanned on "
        "their new owners (keys the first scan had copied count as rescanned, not copied)",
        slot_text(rescanning)));
    runs.clear();
    for (const auto& master : view->map.masters()) {
      const slot_set owned = rescanning & slots_of(master.slots);
      if (owned.none()) continue;
      const std::size_t i = add_shard({}, 0);
      runs.push_back({i,
                      source_options(master.where),
                      0,
                      {},
                      std::make_shared<const slot_set>(owned),
                      true,
                      counters_[i].get(),
                      positions_[i].get(),
                      verified_[i].get()});
      slots.watch(owned, master.id);
    }
    save("running");
  }
  watch.check(report.warnings);

  bool all_complete = (slots.moved() | rescanning).none();
  auto add_report = [&](std::size_t i, std::string address, const slot_set* scope, bool rescan,
                        const shard_position& start, bool from_state) {
    const shard_position position = positions_[i]->get();
    shard_report entry{std::move(address),
                       counters_[i]->snapshot(),
                       position.cursor,
                       position.complete,
                       start.cursor,
                       from_state,
                       rescan,
                       cluster && scope != nullptr ? slot_text(*scope) : "",
                       verified_[i]->snapshot()};
    all_complete = all_complete && entry.complete;
    report.verify += entry.verify;
    report.totals += entry.totals;
    report.this_run += entry.totals;
    report.this_run -= start.done;
    report.shards.push_back(std::move(entry));
  };
  for (std::size_t i = 0; i < p.shards.size(); ++i) {
    add_report(i, p.shards[i].node.address(), &p.shards[i].slots, false, p.shards[i].start,
               p.shards[i].from_state);
  }
  for (const auto& run : rescans) {
    add_report(run.index, run.source.where.address(), run.slots.get(), true, {}, false);
  }
  for (const auto& warning : verify_warnings.all()) report.warnings.push_back(warning);
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
    report.status = report.totals.failed != 0          ? job_status::keys_failed
                    : report.verify.differences() != 0 ? job_status::differences
                                                       : job_status::complete;
  }
  if (!config_.state.path.empty()) {
    if (auto saved = save_checkpoint(config_.state.path, state_of(status)); !saved) {
      report.warnings.push_back(saved.error());
    }
  }
  return finish(report);
}

}  // namespace ferry::engine
