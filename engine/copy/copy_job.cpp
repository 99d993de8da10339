#include "engine/copy/copy_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "engine/copy/copy_plan.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/shard_book.hpp"
#include "engine/copy/shard_pass.hpp"
#include "engine/topology/source_watch.hpp"
#include "engine/topology/target_guard.hpp"
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
/// Checkpoints kept in memory to go back to when a target node loses keys.
constexpr std::size_t max_history = 64;
/// Times a job goes back and copies again after target losses before it gives up.
constexpr int max_recopies = 10;

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
                     fmt::format("--resume: the state file '{}' does not exist: run the same "
                                 "command without --resume to start the job (it creates the "
                                 "file), or give the path of the state file of the job to "
                                 "continue",
                                 state.path));
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

counts copy_job::progress() const { return shards_.total(); }

namespace {

/// One run of a copy job: what `copy_job::run()` prepared (the plan, the output files), the
/// passes it runs (the first over the source's masters, then rescans of slots the source cluster
/// moved meanwhile), and the report. The calling thread runs this; the passes run on workers.
class copy_run {
 public:
  copy_run(copy_config& config, job_control& control, copy_plan plan, failed_keys& failures,
           diff_file& diffs, const checkpoint* previous, shard_book& book)
      : config_(config),
        control_(control),
        plan_(std::move(plan)),
        failures_(failures),
        diffs_(diffs),
        resuming_(previous != nullptr),
        book_(book),
        job_id_(previous != nullptr && !previous->job_id.empty() ? previous->job_id : new_job_id()),
        generation_(previous != nullptr ? previous->generation : 0),
        guard_(plan_.sides.target, plan_.sides.target_facts.map, job_id_,
               previous != nullptr ? previous->marks : std::vector<target_mark>{}),
        cluster_(plan_.sides.source_facts.map.is_cluster()),
        source_(plan_.sides.source, plan_.sides.source_facts.map),
        limiter_(config.protect.max_keys_per_sec, config.protect.max_bytes_per_sec) {
    slots_.mark(plan_.moved);
    for (const auto& shard : plan_.shards) {
      book_.add(shard.start, std::max(shard.estimate, shard.start.done.settled()));
    }
  }

  /// Runs every pass and fills `report` (everything but its timing and sinks).
  void run(copy_report& report) {
    std::vector<shard_run> runs = first_pass();
    // A slot already moving when the scans begin is rescanned too.
    if (cluster_) {
      if (auto view = source_.look()) observe(*view, report);
    }
    // Before the first key moves: the target must still hold what the state file says, and
    // carry this job's marks.
    if (auto held = start_guard(); !held) control_.fail(held.error());
    if (!control_.failed()) save("running");
    if (control_.failed()) {
      finish(report);
      return;
    }
    last_save_ = std::chrono::steady_clock::now();
    const pass_services services = services_for(report);
    for (int round = 0;; ++round) {
      released_.assign(runs.size(), false);
      const auto tick_every =
          cluster_ ? std::min(look_interval, config_.state.interval) : config_.state.interval;
      const pass_result used = run_pass(services, runs, tick_every, [&] { tick(runs, report); });
      report.threads = std::max(report.threads, used.threads);
      report.peak_inflight_bytes = std::max(report.peak_inflight_bytes, used.peak_inflight_bytes);
      if (round > 0) rescans_.insert(rescans_.end(), runs.begin(), runs.end());
      if (control_.stopping() || !cluster_) break;
      const auto view = settle_source(report);
      if (!view) break;
      rescanning_.reset();
      if (slots_.moved().none()) break;
      if (round == max_rescan_rounds) {
        control_.fail(fail_with(
            errc::clusterdown,
            fmt::format("the source cluster kept moving slots during {} rescans (last: {}); run "
                        "the same command with --resume once the resharding is over",
                        max_rescan_rounds, slot_text(slots_.moved()))));
        break;
      }
      runs = rescan_pass(*view, report);
      save("running");
    }
    finish(report);
  }

  /// The checkpoint to start from again after a target lost data (set when the job stopped
  /// for that reason).
  const std::optional<checkpoint>& rewound() const noexcept { return rewound_; }

 private:
  /// The shards of the first pass: every shard an earlier run did not finish.
  std::vector<shard_run> first_pass() {
    std::vector<shard_run> runs;
    for (std::size_t i = 0; i < plan_.shards.size(); ++i) {
      const shard_plan& shard = plan_.shards[i];
      if (shard.start.complete) continue;
      const bool every_slot = !cluster_ && !config_.slots;
      runs.push_back(book_.run(i, source_options(shard.node), shard.start.cursor, shard.start.done,
                               every_slot ? nullptr : std::make_shared<const slot_set>(shard.slots),
                               false));
      if (cluster_) slots_.watch(shard.slots, shard.node_id);
    }
    return runs;
  }

  /// Rescans of the moved slots, on the masters that own them now, from the start of their scan.
  std::vector<shard_run> rescan_pass(const source_view& view, copy_report& report) {
    rescanning_ = slots_.take_moved();
    report.warnings.push_back(fmt::format(
        "the source cluster moved slots {} while ferry scanned them; they were rescanned on "
        "their new owners (keys the first scan had copied count as rescanned, not copied)",
        slot_text(rescanning_)));
    std::vector<shard_run> runs;
    for (const auto& master : view.map.masters()) {
      const slot_set owned = rescanning_ & slots_of(master.slots);
      if (owned.none()) continue;
      const std::size_t i = book_.add({}, 0);
      runs.push_back(book_.run(i, source_options(master.where), 0, {},
                               std::make_shared<const slot_set>(owned), true));
      slots_.watch(owned, master.id);
    }
    return runs;
  }

  pass_services services_for(copy_report&) {
    return pass_services{config_,
                         plan_.sides.target,
                         plan_.sides.target_facts.map,
                         control_,
                         failures_,
                         limiter_,
                         warnings_,
                         resuming_,
                         plan_.sides.source_facts.major_version >= 7,
                         {plan_.sides.source, plan_.sides.source_facts.map,
                          inline_compare_options(config_, plan_.sides), diffs_, verify_warnings_}};
  }

  protocol::connection_options source_options(const protocol::endpoint& node) const {
    protocol::connection_options options =
        protocol::at_node(plan_.sides.source, node.host, node.port);
    options.readonly = cluster_;
    return options;
  }

  /// One look at the source cluster: moved slots, and a warning once if it hides migrations.
  void observe(const source_view& view, copy_report& report) {
    slots_.observe(view.map, view.in_flux);
    if (view.blind && !told_blind_) {
      told_blind_ = true;
      report.warnings.push_back(
          "a source master refuses CLUSTER NODES, so ferry sees a slot migration only once it has "
          "finished; allow CLUSTER NODES for ferry's user, or do not reshard the source until the "
          "copy has ended");
    }
  }

  /// While shards run, the calling thread looks at the source cluster, keeps the state file
  /// fresh and watches the target for lost data.
  void tick(const std::vector<shard_run>& runs, copy_report& report) {
    if (cluster_) {
      // A shard that ended before this look is released after it: the look covers its end.
      std::vector<std::size_t> ended;
      for (std::size_t n = 0; n < runs.size(); ++n) {
        if (!released_[n] && runs[n].position->get().complete) ended.push_back(n);
      }
      if (auto view = source_.look()) {
        observe(*view, report);
        for (const auto n : ended) {
          slots_.release(*runs[n].slots);
          released_[n] = true;
        }
      }
    }
    if (std::chrono::steady_clock::now() - last_save_ >= config_.state.interval) {
      save("running");
      last_save_ = std::chrono::steady_clock::now();
    }
  }

  /// After a pass, one last look covers every shard's end. A moved slot is rescanned only once
  /// it stands still on one owner; a source that never settles stops the job.
  std::optional<source_view> settle_source(copy_report& report) {
    const auto deadline = std::chrono::steady_clock::now() + config_.tune.max_retry_time;
    std::string why;
    for (int attempt = 0; attempt < 100'000 && !control_.stopping(); ++attempt) {
      auto view = source_.look();
      if (view) {
        observe(*view, report);
        slots_.release(slots_.watched());
        if ((view->in_flux & slots_.moved()).none()) return std::move(*view);
        why =
            fmt::format("slots {} are still migrating", slot_text(view->in_flux & slots_.moved()));
      } else {
        why = view.error().message;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      if (!control_.wait_for(std::chrono::milliseconds{200})) break;
    }
    if (!control_.stopping()) {
      control_.fail(fail_with(
          errc::clusterdown,
          fmt::format("the source cluster did not settle within --max-retry-time ({}); slots {} "
                      "moved during the copy and are not rescanned yet: run the same command "
                      "with --resume once the resharding is over",
                      why, slot_text(slots_.moved() | rescanning_))));
    }
    return std::nullopt;
  }

  checkpoint state_of(const char* status) const {
    checkpoint state;
    state.job = plan_.identity;
    state.job_id = job_id_;
    state.status = status;
    for (std::size_t i = 0; i < plan_.shards.size(); ++i) {
      state.shards.push_back({plan_.shards[i].node.address(), plan_.shards[i].node_id,
                              plan_.shards[i].run_id, book_.position(i).get(),
                              plan_.shards[i].slots});
    }
    // A rescan is not resumed from a cursor: its slots stay moved until it ends.
    state.moved = slots_.moved() | rescanning_;
    return state;
  }

  /// A resumed job checks that the target still holds what the state file covers; every job
  /// then marks the target before its first key.
  maybe<void> start_guard() {
    auto loss = guard_.check(generation_);
    if (!loss) return loss.error();
    // A node that restarted since the state file was written but kept its mark lost nothing
    // that file covers.
    if (*loss && (*loss)->holds < generation_) {
      lost(**loss, /*during_run=*/false);
      return fail_with(job_error::target_lost, loss_message(**loss, false));
    }
    // The state that holds before any key: resumed from (or nothing, for a fresh job).
    checkpoint start = state_of("running");
    start.generation = generation_;
    history_.push_back(std::move(start));
    return {};
  }

  /// Saves a checkpoint: looks at the target first (a node that restarted since the last look
  /// rewinds the job), then writes the next generation into its marks after every key the
  /// checkpoint covers was acknowledged, then the state file. When the target cannot be marked,
  /// the previous state file stays: it claims no more than the target is known to hold.
  void save(const char* status) {
    checkpoint state = state_of(status);  // the positions before the marks are written
    auto loss = guard_.check(generation_);
    if (!loss) return;  // the target is unreachable: the writers will say so
    if (*loss) {
      lost(**loss, true);
      control_.fail(fail_with(job_error::target_lost, loss_message(**loss, true)));
      return;
    }
    if (auto marked = guard_.mark(generation_ + 1); !marked) {
      // A node that cannot be marked (it restarted meanwhile, or is gone) is looked at again at
      // the next save; one that refuses the mark cannot be guarded at all.
      if (protocol::disposition_of(marked.error().code) != protocol::disposition::retry) {
        control_.fail(marked.error());
      }
      return;
    }
    state.generation = ++generation_;
    state.marks = guard_.marks();
    write_state(state);
    history_.push_back(std::move(state));
    if (history_.size() > max_history) history_.erase(history_.begin() + 1);  // keep the start
  }

  void write_state(const checkpoint& state) {
    if (config_.state.path.empty()) return;
    if (auto saved = save_checkpoint(config_.state.path, state); !saved) {
      // The file is replaced by rename, so the one written before is intact, and a resumed job
      // checks the target's marks against it first: resuming from it is safe.
      control_.fail(fail_with(
          job_error::state_file,
          fmt::format("{}; the state file written before is intact: free space (or fix the "
                      "permissions) there and run the same command with --resume",
                      saved.error())));
    }
  }

  /// A target node lost keys: the job goes back to the newest checkpoint the target still
  /// holds in full (or to the start when it holds none), recorded with the nodes as they are now.
  void lost(const target_loss& loss, bool during_run) {
    checkpoint back;  // the start: no shard has a position, so each is copied from its beginning
    if (during_run && loss.holds > 0) {
      for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
        if (it->generation <= loss.holds) {
          back = *it;
          break;
        }
      }
    }
    if (back.shards.empty()) back.generation = 0;
    back.job = plan_.identity;
    back.job_id = job_id_;
    back.status = "target_lost";
    back.marks = guard_.marks();
    rewound_ = std::move(back);
  }

  std::string loss_message(const target_loss& loss, bool during_run) const {
    const bool state = !config_.state.path.empty();
    const std::string from = rewound_ && !rewound_->shards.empty()
                                 ? "the last checkpoint that node still holds"
                                 : "the start (nothing this job wrote can be trusted)";
    std::string next;
    if (state) {
      next = fmt::format(
          "The state file now points back to {}: run the same command with --resume to copy "
          "again what was lost, or add --on-target-loss recopy to let ferry do that without "
          "stopping",
          from);
    } else {
      next =
          "ferry cannot tell which keys were lost: run the copy again with --on-existing replace "
          "(or add --on-target-loss recopy to let ferry go back and copy again without stopping), "
          "or repair the target with `ferry verify --repair`";
    }
    return fmt::format("{}{}. {}", loss.description,
                       during_run ? " during the copy" : " since the state file was written", next);
  }

  /// A source node whose run id changed since the plan was scanned on, after the restart, with
  /// a cursor of the process before: keys may have been skipped. Stops the job (the shard's
  /// saved run id no longer matches, so --resume copies it again from its start).
  void check_sources() {
    const auto restarted = run_blocking(restarted_shards(plan_));
    if (restarted.empty()) return;
    std::string nodes;
    for (const auto i : restarted) {
      nodes += (nodes.empty() ? "" : ", ") + plan_.shards[i].node.address();
    }
    control_.fail(fail_with(
        job_error::source_restarted,
        fmt::format(
            "source node {} restarted during the copy (its run id changed): a SCAN cursor means "
            "nothing to a new process, so keys may have been skipped. {}; if it came back "
            "without its data, the keys it lost stay on the target (`ferry verify --repair "
            "--repair-delete-extra` removes them)",
            nodes,
            config_.state.path.empty()
                ? "Run the copy again with --on-existing replace"
                : "Run the same command with --resume: ferry copies that shard again from its "
                  "start")));
  }

  /// The report: per shard, then the rescans; the job's status; the last state file.
  void finish(copy_report& report) {
    bool all_complete = (slots_.moved() | rescanning_).none();
    auto add = [&](std::size_t i, std::string address, const slot_set* scope, bool rescan,
                   const shard_position& start, bool from_state) {
      const shard_position position = book_.position(i).get();
      shard_report entry{std::move(address),
                         book_.counters(i).snapshot(),
                         position.cursor,
                         position.complete,
                         start.cursor,
                         from_state,
                         rescan,
                         cluster_ && scope != nullptr ? slot_text(*scope) : "",
                         book_.verified(i).snapshot()};
      all_complete = all_complete && entry.complete;
      report.verify += entry.verify;
      report.totals += entry.totals;
      report.this_run += entry.totals;
      report.this_run -= start.done;
      report.shards.push_back(std::move(entry));
    };
    for (std::size_t i = 0; i < plan_.shards.size(); ++i) {
      add(i, plan_.shards[i].node.address(), &plan_.shards[i].slots, false, plan_.shards[i].start,
          plan_.shards[i].from_state);
    }
    for (const auto& run : rescans_) {
      add(run.index, run.source.where.address(), run.slots.get(), true, {}, false);
    }
    for (const auto& warning : warnings_.all()) report.warnings.push_back(warning);
    for (const auto& warning : verify_warnings_.all()) report.warnings.push_back(warning);
    // Nothing is complete over a scan that went on in another source process.
    if (!control_.failed() && all_complete) check_sources();
    // Nothing is complete before the target is known to still hold it.
    if (!control_.failed() && all_complete) {
      if (auto loss = guard_.check(generation_); loss && *loss) {
        lost(**loss, true);
        control_.fail(fail_with(job_error::target_lost, loss_message(**loss, true)));
      } else if (!loss) {
        control_.fail(protocol::failure{
            loss.error().code,
            fmt::format("cannot confirm that the target still holds what was copied: {}; run the "
                        "same command with --resume once the target answers",
                        loss.error().message)});
      }
    }
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
      report.left_behind = plan_.other_dbs;
      report.status = report.totals.failed != 0          ? job_status::keys_failed
                      : report.verify.differences() != 0 ? job_status::differences
                      : !plan_.other_dbs.empty() && !config_.ignore_other_dbs
                          ? job_status::left_behind
                          : job_status::complete;
      // The marks go: the target holds the source's keys and nothing of ferry's.
      if (auto removed = guard_.unmark(); !removed) {
        report.warnings.push_back(fmt::format(
            "ferry could not delete its marks ({}...) from the target: {}; delete them by hand",
            mark_prefix, removed.error().message));
      }
    }
    if (rewound_) {
      write_state(*rewound_);
    } else if (report.status == job_status::interrupted || report.status == job_status::fatal) {
      // What was acknowledged is marked and saved, if the target still answers; otherwise the
      // previous state file stays, which claims no more than the target holds.
      save(status);
    } else if (!config_.state.path.empty()) {
      if (auto saved = save_checkpoint(config_.state.path, state_of(status)); !saved) {
        report.warnings.push_back(saved.error());
      }
    }
    if (control_.failed() && !report.failure) report.failure = control_.failure();
  }

  copy_config& config_;
  job_control& control_;
  copy_plan plan_;
  failed_keys& failures_;
  diff_file& diffs_;
  bool resuming_;
  shard_book& book_;
  std::string job_id_;
  std::uint64_t generation_;  // the generation the target's marks hold
  target_guard guard_;
  std::vector<checkpoint> history_;  // the start, then the newest checkpoints saved
  std::optional<checkpoint> rewound_;
  bool cluster_;
  slot_watch slots_;     // slots the source cluster moves while they are scanned
  slot_set rescanning_;  // the moved slots of the rescan pass under way
  source_watch source_;
  rate_limiter limiter_;
  warning_list verify_warnings_;
  warning_list warnings_;  // from the shards
  bool told_blind_ = false;
  std::chrono::steady_clock::time_point last_save_;
  std::vector<bool> released_;
  std::vector<shard_run> rescans_;  // every rescan of the job, for the report
};

}  // namespace

copy_report copy_job::run() {
  const auto started = std::chrono::steady_clock::now();
  copy_report report;
  std::optional<checkpoint> restart;
  std::vector<std::string> recovered;
  for (int attempt = 0;; ++attempt) {
    report = copy_report{};
    report.source = config_.source.where.redacted();
    report.target = config_.target.where.redacted();
    report.verified = config_.verify.enabled;
    report.verify_sample = config_.verify.sample;
    restart = run_stages(report, restart ? &*restart : nullptr);
    const bool lost = report.failure && report.failure->code == job_error::target_lost;
    if (!lost || config_.on_target_loss != target_loss_policy::recopy || !restart ||
        attempt == max_recopies || control_.draining()) {
      break;
    }
    // --on-target-loss recopy: go back to what the target still holds and copy the rest again.
    recovered.push_back(
        fmt::format("{}; ferry went back and copied again (--on-target-loss "
                    "recopy)",
                    report.failure->message.substr(0, report.failure->message.find(". "))));
    control_.clear_failure();
    shards_.clear();
  }
  report.warnings.insert(report.warnings.begin(), recovered.begin(), recovered.end());
  report.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

std::optional<checkpoint> copy_job::run_stages(copy_report& report, const checkpoint* restart) {
  // Plan: the state file, both sides, the shards, the output files.
  std::optional<checkpoint> loaded;
  if (restart == nullptr) {
    auto previous = previous_state(config_);
    if (!previous) {
      report.failure = previous.error();
      return std::nullopt;
    }
    loaded = std::move(*previous);
  } else {
    loaded = *restart;
  }
  const checkpoint* previous = loaded ? &*loaded : nullptr;
  const bool resuming = previous != nullptr;
  report.resumed = resuming;
  // Keys the earlier run wrote are ours: with no policy given, a resumed job overwrites them.
  if (resuming && config_.existing == existing_policy::unset) {
    config_.existing = existing_policy::replace;
  }
  auto planned = run_blocking(plan_copy(config_, previous));
  if (!planned) {
    report.failure = planned.error();
    return std::nullopt;
  }
  auto failures = failed_keys::open(config_.failed_keys_path, resuming);
  if (!failures) {
    report.failure = fail_with(job_error::output_file, failures.error());
    return std::nullopt;
  }
  auto diffs = diff_file::open(config_.verify.enabled ? config_.verify.diff_path : std::string{});
  if (!diffs) {
    report.failure = fail_with(job_error::output_file, diffs.error());
    return std::nullopt;
  }
  // A key that cannot be recorded stops the job: never "N keys are listed" over a short file.
  const auto stop = [this](const std::string& why) {
    control_.fail(fail_with(job_error::output_file,
                            fmt::format("{}; ferry stops rather than leave keys unrecorded: free "
                                        "space (or choose another path) and run the same command "
                                        "with --resume",
                                        why)));
  };
  (*failures)->on_error(stop);
  (*diffs)->on_error(stop);
  // Passes, then the report.
  copy_run run(config_, control_, std::move(*planned), **failures, **diffs, previous, shards_);
  run.run(report);
  return run.rewound();
}

}  // namespace ferry::engine
