#include "engine/copy/copy_run.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/copy/function_copy.hpp"
#include "engine/copy/side_versions.hpp"

namespace ferry::engine::detail {

using protocol::errc;

namespace {

/// How often the calling thread looks at the source cluster while shards run: often enough to
/// see a slot in the middle of its migration, which takes at least a few round trips.
constexpr std::chrono::milliseconds look_interval{500};
/// Rescan passes before a source that keeps moving slots stops the job.
constexpr int max_rescan_rounds = 5;
/// Checkpoints kept in memory to go back to when a target node loses keys.
constexpr std::size_t max_history = 64;

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

/// SET ... PXAT (and NX with it) came with Redis 6.2; a server that hides its version gets
/// RESTORE, which every version since 5 answers.
bool target_sets_pxat(const protocol::server_facts& target) {
  return target.major_version > 6 || (target.major_version == 6 && target.minor_version >= 2);
}

/// What the two servers can do, for struct mode, from their versions (Valkey 8 says it is Redis
/// 7.2 to clients).
rebuild_caps caps_of(const inspected_sides& sides) {
  const auto at_least = [](const protocol::server_facts& f, int major, int minor) {
    return f.major_version > major || (f.major_version == major && f.minor_version >= minor);
  };
  rebuild_caps caps;
  caps.source_pexpiretime = sides.source_facts.major_version >= 7;
  caps.target_pexpiretime = sides.target_facts.major_version >= 7;
  caps.source_field_ttls = at_least(sides.source_facts, 7, 4);
  caps.target_field_ttls = at_least(sides.target_facts, 7, 4);
  caps.target_stream_v2 = at_least(sides.target_facts, 7, 0);
  caps.target_createconsumer = at_least(sides.target_facts, 6, 2);
  return caps;
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

double copy_run::unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

copy_run::copy_run(copy_config& config, job_control& control, copy_plan plan, failed_keys& failures,
                   diff_file& diffs, const checkpoint* previous, shard_book& book,
                   std::atomic<std::size_t>& inflight, std::atomic<double>& saved_at)
    : config_(config),
      control_(control),
      plan_(std::move(plan)),
      failures_(failures),
      diffs_(diffs),
      resuming_(previous != nullptr),
      previous_(previous),
      book_(book),
      job_id_(previous != nullptr && !previous->job_id.empty() ? previous->job_id : new_job_id()),
      generation_(previous != nullptr ? previous->generation : 0),
      guard_(plan_.sides.target, plan_.sides.target_facts.map, job_id_,
             previous != nullptr ? previous->marks : std::vector<target_mark>{}),
      cluster_(plan_.sides.source_facts.map.is_cluster()),
      source_(plan_.sides.source, plan_.sides.source_facts.map),
      limiter_(config.protect.max_keys_per_sec, config.protect.max_bytes_per_sec),
      inflight_(inflight),
      saved_at_(saved_at) {
  mode_.can_rebuild = true;
  mode_.force_struct = config.force_struct;
  slots_.mark(plan_.moved);
  for (const auto& shard : plan_.shards) {
    book_.add(shard.start, std::max(shard.estimate, shard.start.done.settled()),
              shard.node.address());
  }
}

void copy_run::run(copy_report& report) {
  std::vector<shard_run> runs = first_pass();
  // A slot already moving when the scans begin is rescanned too.
  if (cluster_) {
    if (auto view = source_.look()) observe(*view, report);
  }
  // A job built on the copy checks what it needs before anything is written (ferry sync: the
  // source's keyspace notifications).
  if (extension_ != nullptr) {
    if (auto ready = extension_->prepare(plan_, previous_, control_); !ready) {
      control_.fail(ready.error());
    }
  }
  // Before the first key moves: the target must still hold what the state file says, and
  // carry this job's marks; then versions, leftovers and functions.
  if (!control_.failed()) {
    if (auto held = start_guard(); !held) control_.fail(held.error());
  }
  if (!control_.failed()) prepare_target(report);
  if (!control_.failed()) {
    started_ = true;
    save("running");
  }
  if (control_.failed()) {
    finish(report);
    return;
  }
  last_save_ = std::chrono::steady_clock::now();
  const pass_services services = services_for();
  for (int round = 0;; ++round) {
    released_.assign(runs.size(), false);
    auto tick_every =
        cluster_ ? std::min(look_interval, config_.state.interval) : config_.state.interval;
    if (extension_ != nullptr) tick_every = std::min(tick_every, extension_->tick_interval());
    const pass_result used = run_pass(services, runs, tick_every, [&] { tick(runs, report); });
    report.threads = std::max(report.threads, used.threads);
    report.peak_inflight_bytes = std::max(report.peak_inflight_bytes, used.peak_inflight_bytes);
    if (round > 0) rescans_.insert(rescans_.end(), runs.begin(), runs.end());
    // An extension covers moved slots itself (copy_extension::moved).
    if (control_.stopping() || !cluster_ || extension_ != nullptr) break;
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

/// The shards of the first pass: every shard an earlier run did not finish.
std::vector<shard_run> copy_run::first_pass() {
  std::vector<shard_run> runs;
  for (std::size_t i = 0; i < plan_.shards.size(); ++i) {
    const shard_plan& shard = plan_.shards[i];
    // A finished shard is not scanned again; an extension still runs its flow there.
    if (shard.start.complete && extension_ == nullptr) continue;
    const bool every_slot = !cluster_ && !config_.slots && !config_.part;
    runs.push_back(book_.run(i, source_options(shard.node), shard.start.cursor, shard.start.done,
                             every_slot ? nullptr : std::make_shared<const slot_set>(shard.slots),
                             false));
    runs.back().scanned = shard.start.complete;
    if (cluster_ && !shard.start.complete) slots_.watch(shard.slots, shard.node_id);
  }
  return runs;
}

/// Rescans of the moved slots, on the masters that own them now, from the start of their scan.
std::vector<shard_run> copy_run::rescan_pass(const source_view& view, copy_report& report) {
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

/// What comes before the first key: both sides' versions (announced when the source is newer),
/// a target that refuses RESTORE (the job starts in struct mode), the temporary keys an
/// interrupted run left, and the function libraries.
void copy_run::prepare_target(copy_report& report) {
  const versions_seen seen = look_at_versions(plan_.sides, job_id_, config_.tune);
  report.source_version = seen.source.describe();
  report.target_version = seen.target.describe();
  if (auto notice = newer_source_notice(seen, config_.force_struct); !notice.empty()) {
    report.warnings.push_back(std::move(notice));
  }
  if (seen.restore_refused && !config_.force_struct) {
    mode_.restore_refused = true;
    warnings_.add(
        restore_refused_warning(plan_.sides.target.where.address(), *seen.restore_refused));
  }
  if (resuming_) {
    auto deleted = delete_temp_keys(plan_.sides, job_id_, config_.tune);
    if (!deleted) {
      report.warnings.push_back(deleted.error().message);
    } else if (*deleted != 0) {
      report.warnings.push_back(fmt::format(
          "deleted {} temporary key(s) ({}...) that the interrupted run left on the target",
          *deleted, temp_key_marker));
    }
  }
  auto functions = copy_functions(plan_.sides, config_.functions, config_.tune);
  if (!functions) {
    control_.fail(functions.error());
    return;
  }
  report.function_libraries = functions->libraries;
  report.function_masters = functions->masters_written;
  for (auto& warning : functions->warnings) report.warnings.push_back(std::move(warning));
}

pass_services copy_run::services_for() {
  pass_services services{config_,
                         plan_.sides.target,
                         plan_.sides.target_facts.map,
                         control_,
                         failures_,
                         limiter_,
                         warnings_,
                         resuming_,
                         plan_.sides.source_facts.major_version >= 7,
                         config_.string_reads && target_sets_pxat(plan_.sides.target_facts),
                         commands_,
                         {plan_.sides.source, plan_.sides.source_facts.map,
                          inline_compare_options(config_, plan_.sides), diffs_, verify_warnings_},
                         &inflight_,
                         &mode_,
                         caps_of(plan_.sides),
                         job_id_};
  return services;
}

protocol::connection_options copy_run::source_options(const protocol::endpoint& node) const {
  protocol::connection_options options =
      protocol::at_node(plan_.sides.source, node.host, node.port);
  options.readonly = cluster_;
  return options;
}

/// One look at the source cluster: moved slots, and a warning once if it hides migrations.
void copy_run::observe(const source_view& view, copy_report& report) {
  slots_.observe(view.map, view.in_flux);
  if (view.blind && !told_blind_) {
    told_blind_ = true;
    report.warnings.push_back(
        "a source master refuses CLUSTER NODES, so ferry sees a slot migration only once it has "
        "finished; allow CLUSTER NODES for ferry's user, or do not reshard the source until the "
        "copy has ended");
  }
}

/// While shards run, the calling thread looks at the source cluster and keeps the state file
/// fresh (which looks at the target too).
void copy_run::tick(const std::vector<shard_run>& runs, copy_report& report) {
  // An extension ticks more often than the source needs looking at; and once every scan is
  // over, its own looks follow the cluster.
  const auto now = std::chrono::steady_clock::now();
  const bool scanning = std::find(released_.begin(), released_.end(), false) != released_.end();
  const bool look = extension_ == nullptr || (scanning && now - last_look_ >= look_interval);
  if (cluster_ && look) {
    last_look_ = now;
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
  if (extension_ != nullptr) {
    if (slots_.moved().any()) extension_->moved(slots_.take_moved());
    extension_->tick();
  }
  if (std::chrono::steady_clock::now() - last_save_ >= config_.state.interval) {
    save("running");
    last_save_ = std::chrono::steady_clock::now();
  }
}

/// After a pass, one last look covers every shard's end. A moved slot is rescanned only once
/// it stands still on one owner; a source that never settles stops the job.
std::optional<source_view> copy_run::settle_source(copy_report& report) {
  const auto deadline = std::chrono::steady_clock::now() + config_.tune.max_retry_time;
  std::string why;
  for (int attempt = 0; attempt < 100'000 && !control_.stopping(); ++attempt) {
    auto view = source_.look();
    if (view) {
      observe(*view, report);
      slots_.release(slots_.watched());
      if ((view->in_flux & slots_.moved()).none()) return std::move(*view);
      why = fmt::format("slots {} are still migrating", slot_text(view->in_flux & slots_.moved()));
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

/// A source node whose run id changed since the plan was scanned on, after the restart, with
/// a cursor of the process before: keys may have been skipped. Stops the job (the shard's
/// saved run id no longer matches, so --resume copies it again from its start).
void copy_run::check_sources() {
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
void copy_run::finish(copy_report& report) {
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
                       (cluster_ || config_.part) && scope != nullptr ? slot_text(*scope) : "",
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
  report.source_commands = commands_.snapshot();
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
  bool keep_marks = false;
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
    // The marks go: the target holds the source's keys and nothing of ferry's (unless an
    // extension's job goes on: a resumed sync must find them).
    keep_marks = extension_ != nullptr && extension_->keep_marks();
    if (auto removed = keep_marks ? outcome{} : guard_.unmark(); !removed) {
      report.warnings.push_back(fmt::format(
          "ferry could not delete its marks ({}...) from the target: {}; delete them by hand",
          mark_prefix, removed.error().message));
    }
  }
  if (rewound_) {
    write_state(*rewound_);
  } else if (!started_) {
    // Stopped before its first key (a check failed): nothing to mark, the previous state file
    // (if any) stays as it is.
  } else if (report.status == job_status::interrupted || report.status == job_status::fatal ||
             keep_marks) {
    // What was acknowledged is marked and saved, if the target still answers; otherwise the
    // previous state file stays, which claims no more than the target holds.
    save(status);
  } else if (!config_.state.path.empty()) {
    if (auto saved = save_checkpoint(config_.state.path, state_of(status)); !saved) {
      report.warnings.push_back(saved.error());
    } else {
      saved_at_.store(unix_seconds(), std::memory_order_relaxed);
    }
  }
  if (control_.failed() && !report.failure) report.failure = control_.failure();
  if (plan_.part) {
    report.part = part_report{plan_.part->part, slot_text(plan_.part->slots), plan_.part->masters,
                              plan_.part->whole_masters};
  }
}

}  // namespace ferry::engine::detail
