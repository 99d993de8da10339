#include "engine/import/import_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "engine/copy/side_versions.hpp"
#include "engine/import/import_plan.hpp"
#include "engine/import/import_stages.hpp"
#include "engine/import/rdb_io.hpp"
#include "engine/topology/target_guard.hpp"
#include "engine/transfer/key_rebuild.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

/// A target that refuses RESTORE (renamed away, not allowed to the user) is found before the
/// first key (import_stages.cpp asks every master) and the import then writes every key with
/// type commands. A refusal met later (the ACL changed during the job, a master that joined)
/// stops it at that batch; this says why and the way round.
void advise_without_restore(protocol::failure& failure) {
  if (failure.message.find("refused RESTORE") == std::string::npos) return;
  failure.message +=
      ". The target ran RESTORE when the import began and refuses it now: run the import again "
      "(with --resume when it keeps a state file); it asks the target first and writes every "
      "key with type commands (struct mode) when RESTORE is refused, or pass --mode struct";
}

/// Checkpoints kept in memory to go back to when a target node loses keys.
constexpr std::size_t max_history = 64;

/// One run of an import job: the plan made, the state file and the target's marks kept while
/// the stages run, and the report.
class import_run {
 public:
  import_run(const import_config& config, job_control& control, shard_counters& counters,
             import_plan plan, failed_keys& failures)
      : config_(config),
        control_(control),
        counters_(counters),
        plan_(std::move(plan)),
        failures_(failures),
        start_(plan_.previous ? plan_.previous->shards.front().position : shard_position{}),
        job_id_(plan_.previous && !plan_.previous->job_id.empty() ? plan_.previous->job_id
                                                                  : new_job_id()),
        generation_(plan_.previous ? plan_.previous->generation : 0),
        guard_(plan_.target, plan_.target_facts.map, job_id_,
               plan_.previous ? plan_.previous->marks : std::vector<target_mark>{}),
        ledger_(start_.cursor, start_.done) {
    if (plan_.survey) fingerprint_ = plan_.survey->identity.fingerprint();
    if (plan_.previous) fingerprint_ = plan_.previous->shards.front().run_id;
  }

  /// Runs the stages and fills `report`; `input` is the opened file.
  void run(rdb_input& input, import_report& report) {
    input_size_ = input.size;
    counters_.set(start_.done);
    counters_.estimated.store(std::max(plan_.estimate, start_.done.settled()));
    report.resumed = plan_.previous.has_value();
    report.start_offset = start_.cursor;
    if (start_.complete) {
      report.warnings.push_back(fmt::format(
          "the state file '{}' records this import as complete: nothing was imported again",
          config_.state.path));
      finish(report);
      return;
    }
    if (auto held = start_guard(); !held) control_.fail(held.error());
    if (!control_.failed() && plan_.previous) {
      // Struct mode's temporary keys of the interrupted run (they would expire on their own).
      inspected_sides sides;
      sides.target = plan_.target;
      sides.target_facts = plan_.target_facts;
      auto deleted = delete_temp_keys(sides, job_id_, config_.tune);
      if (!deleted) {
        report.warnings.push_back(deleted.error().message);
      } else if (*deleted != 0) {
        report.warnings.push_back(fmt::format(
            "deleted {} temporary key(s) ({}...) that the interrupted run left on the target",
            *deleted, temp_key_marker));
      }
    }
    if (!control_.failed()) save("running");
    if (!control_.failed()) {
      stage_services services{config_, plan_, control_,      counters_, failures_, ledger_,
                              found_,  input, start_.cursor, {},        job_id_};
      services.check_identity = [this](const file_identity& identity) {
        return check_identity(identity);
      };
      last_save_ = std::chrono::steady_clock::now();
      const stage_result used = run_stages(services, [this] { tick(); });
      report.threads = used.threads;
      report.peak_inflight_bytes = used.peak_inflight_bytes;
      if (found_.failure) control_.fail(*found_.failure);
    }
    finish(report);
  }

 private:
  /// The file's identity is known (before its first key is sent): a resumed job's file must be
  /// the one its state file was written for.
  maybe<void> check_identity(const file_identity& read) {
    // The feed reads the header and AUX fields; the size is the input's (as the check pass has).
    file_identity identity = read;
    identity.size = input_size_;
    const std::string now = identity.fingerprint();
    if (plan_.previous) {
      if (auto same = same_file(*plan_.previous, identity, config_.state.path); !same) return same;
    }
    std::lock_guard lock(mutex_);
    fingerprint_ = now;
    return {};
  }

  void tick() {
    if (std::chrono::steady_clock::now() - last_save_ >= config_.state.interval) {
      save("running");
      last_save_ = std::chrono::steady_clock::now();
    }
  }

  checkpoint state_of(const char* status) const {
    checkpoint state;
    state.job = plan_.identity;
    state.job_id = job_id_;
    state.status = status;
    std::string fingerprint;
    {
      std::lock_guard lock(mutex_);
      fingerprint = fingerprint_;
    }
    state.shards.push_back({config_.input, "", fingerprint, ledger_.position(), std::nullopt});
    return state;
  }

  maybe<void> start_guard() {
    auto loss = guard_.check(generation_);
    if (!loss) return loss.error();
    if (*loss && (*loss)->holds < generation_) {
      lost(**loss, false);
      return fail_with(job_error::target_lost, loss_message(**loss, false));
    }
    checkpoint start = state_of("running");
    start.shards.front().position = start_;
    start.generation = generation_;
    history_.push_back(std::move(start));
    return {};
  }

  /// As `ferry copy` saves: looks at the target first, marks the next generation once every key
  /// the checkpoint covers was acknowledged, then writes the state file.
  void save(const char* status) {
    checkpoint state = state_of(status);
    auto loss = guard_.check(generation_);
    if (!loss) return;  // unreachable: the writers will say so
    if (*loss) {
      lost(**loss, true);
      control_.fail(fail_with(job_error::target_lost, loss_message(**loss, true)));
      return;
    }
    if (auto marked = guard_.mark(generation_ + 1); !marked) {
      if (protocol::disposition_of(marked.error().code) != protocol::disposition::retry) {
        control_.fail(marked.error());
      }
      return;
    }
    state.generation = ++generation_;
    state.marks = guard_.marks();
    write_state(state);
    history_.push_back(std::move(state));
    if (history_.size() > max_history) history_.erase(history_.begin() + 1);
  }

  void write_state(const checkpoint& state) {
    if (config_.state.path.empty()) return;
    if (auto saved = save_checkpoint(config_.state.path, state); !saved) {
      control_.fail(fail_with(job_error::state_file, saved.error()));
    }
  }

  /// A target node lost keys: the state file goes back to the newest checkpoint the target still
  /// holds in full (or to the start).
  void lost(const target_loss& loss, bool during_run) {
    checkpoint back = state_of("target_lost");
    back.shards.front().position = shard_position{};
    back.generation = 0;
    if (during_run && loss.holds > 0) {
      for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
        if (it->generation <= loss.holds) {
          back.shards.front().position = it->shards.front().position;
          back.generation = it->generation;
          break;
        }
      }
    }
    back.marks = guard_.marks();
    rewound_ = std::move(back);
  }

  std::string loss_message(const target_loss& loss, bool during_run) const {
    return fmt::format(
        "{}{}. {}", loss.description,
        during_run ? " during the import" : " since the state file was written",
        config_.state.path.empty()
            ? "ferry cannot tell which keys were lost: import the file again with --on-existing "
              "replace"
            : "The state file now points back to what that node still holds: run the same "
              "command with --resume to import the rest again");
  }

  void finish(import_report& report) {
    const shard_position at = ledger_.position();
    report.offset = at.cursor;
    report.complete = at.complete || start_.complete;
    if (!control_.failed() && at.complete) {
      if (auto loss = guard_.check(generation_); loss && *loss) {
        lost(**loss, true);
        control_.fail(fail_with(job_error::target_lost, loss_message(**loss, true)));
      } else if (!loss) {
        control_.fail(protocol::failure{
            loss.error().code,
            fmt::format("cannot confirm that the target still holds what was imported: {}; run "
                        "the same command with --resume once the target answers",
                        loss.error().message)});
      }
    }
    report.totals = counters_.snapshot();
    report.this_run = report.totals;
    report.this_run -= start_.done;
    fill_findings(report);
    const char* status = "complete";
    if (control_.failed()) {
      report.status = job_status::fatal;
      report.failure = control_.failure();
      if (report.failure) advise_without_restore(*report.failure);
      status = "failed";
    } else if (!report.complete) {
      report.status = job_status::interrupted;
      status = "interrupted";
    } else {
      report.status = report.totals.failed != 0     ? job_status::keys_failed
                      : !report.left_behind.empty() ? job_status::left_behind
                                                    : job_status::complete;
      if (auto removed = guard_.unmark(); !removed) {
        report.warnings.push_back(fmt::format(
            "ferry could not delete its marks ({}...) from the target: {}; delete them by hand",
            mark_prefix, removed.error().message));
      }
    }
    if (rewound_) {
      write_state(*rewound_);
    } else if (report.status == job_status::interrupted || report.status == job_status::fatal) {
      save(status);
    } else if (!config_.state.path.empty()) {
      if (auto saved = save_checkpoint(config_.state.path, state_of(status)); !saved) {
        report.warnings.push_back(saved.error());
      }
    }
    if (control_.failed() && !report.failure) report.failure = control_.failure();
  }

  void fill_findings(import_report& report) const {
    report.rdb_version = found_.header.version;
    report.db = found_.db.value_or(plan_.db.value_or(0));
    report.target_rdb_version = plan_.target_version.value_or(0);
    report.target_server = plan_.target_server;
    report.downgraded = found_.downgraded;
    report.needs_struct = found_.needs_struct;
    report.restore_refused = found_.restore_refused;
    report.functions = found_.functions;
    report.functions_restored = found_.functions_restored;
    report.checksum_checked = found_.end_reached ? found_.checksum_checked
                                                 : plan_.survey && plan_.survey->checksum_checked;
    for (const auto& [name, keys] : found_.modules) report.modules.push_back({name, keys});
    if (plan_.survey) {
      report.databases = plan_.survey->databases;
    } else {
      if (found_.db) {
        const auto size = found_.db_sizes.find(*found_.db);
        report.databases.push_back({*found_.db, size != found_.db_sizes.end()
                                                    ? std::optional<std::uint64_t>(size->second)
                                                    : std::nullopt});
      }
      for (const auto& [db, keys] : found_.other_dbs) report.databases.push_back({db, keys});
    }
    // With --db the others were left out on purpose; without it (a stream, which is not read
    // twice) the first database was imported and the others must be named.
    if (!config_.db) {
      for (const auto& [db, keys] : found_.other_dbs) report.left_behind.push_back({db, keys});
    }
    for (const auto& warning : found_.warnings) report.warnings.push_back(warning);
    if (!report.modules.empty()) {
      std::string names;
      for (const auto& m : report.modules) {
        names += fmt::format("{}{} ({} keys)", names.empty() ? "" : ", ", m.name, m.keys);
      }
      report.warnings.push_back(fmt::format(
          "the file holds keys of module types: {}; the target restores them only if it has the "
          "same modules loaded (the others are listed in --failed-keys)",
          names));
    }
  }

  const import_config& config_;
  job_control& control_;
  shard_counters& counters_;
  import_plan plan_;
  failed_keys& failures_;
  shard_position start_;
  std::string job_id_;
  std::uint64_t generation_;
  target_guard guard_;
  file_ledger ledger_;
  feed_findings found_;
  mutable std::mutex mutex_;  // fingerprint_: set by the feed thread, read by checkpoints
  std::string fingerprint_;
  std::vector<checkpoint> history_;
  std::optional<checkpoint> rewound_;
  std::chrono::steady_clock::time_point last_save_;
  std::uint64_t input_size_ = 0;
};

}  // namespace

import_job::import_job(import_config config) : config_(std::move(config)) {}
import_job::~import_job() = default;

import_progress import_job::progress() const {
  import_progress now;
  now.keys = counters_.snapshot();
  std::lock_guard lock(progress_mutex_);
  if (file_ != nullptr) now.file_read = file_->consumed();
  now.file_size = file_size_;
  return now;
}

import_report import_job::run() {
  const auto started = std::chrono::steady_clock::now();
  import_report report;
  report.input = config_.input;
  report.target = config_.target.where.redacted();
  const auto done = [&] {
    report.duration_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  };
  auto plan = plan_import(config_);
  if (!plan) {
    report.failure = plan.error();
    return done();
  }
  // Keys the earlier run wrote are ours: with no policy given, a resumed job overwrites them.
  if (plan->previous && config_.existing == existing_policy::unset) {
    config_.existing = existing_policy::replace;
  }
  auto failures = failed_keys::open(config_.failed_keys_path, plan->previous.has_value());
  if (!failures) {
    report.failure = fail_with(job_error::output_file, failures.error());
    return done();
  }
  (*failures)->on_error([this](const std::string& why) {
    control_.fail(fail_with(job_error::output_file,
                            fmt::format("{}; ferry stops rather than leave keys unrecorded: free "
                                        "space (or choose another path) and run the same command "
                                        "with --resume",
                                        why)));
  });
  auto input = open_rdb_input(config_.input);
  if (!input) {
    report.failure = input.error();
    return done();
  }
  report.file_size = input->size;
  report.gzip = input->gzip;
  {
    std::lock_guard lock(progress_mutex_);
    file_ = input->file;
    file_size_ = input->size;
  }
  {
    import_run run(config_, control_, counters_, std::move(*plan), **failures);
    run.run(*input, report);
  }
  report.file_bytes_read = input->file->consumed();
  {
    std::lock_guard lock(progress_mutex_);
    file_ = nullptr;
  }
  return done();
}

}  // namespace ferry::engine
