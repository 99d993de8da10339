#pragma once
// The options ferry's jobs share, in one place: the existing-key policy, output files and
// progress, tuning and timeouts, the state file, rate limits and how a source is read (copy,
// sync, import, export take the groups that apply to them). Each group is added by one function
// and turned into the engine's settings by another, so every command says the same thing the
// same way. `copy` and `sync` (sync's snapshot is a copy) share the whole set at the end of this
// file: add_copy_options and apply_copy_flags, built from the same groups.

#include <CLI/CLI.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/common/side_options.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/copy_job.hpp"
#include "engine/runtime/settings.hpp"

namespace ferry::cli {

/// --on-existing: fail, skip or replace.
void add_existing_option(CLI::App& command, std::string& policy, std::string_view target_word);
/// The policy a --on-existing value names (unset for none).
engine::existing_policy existing_policy_of(const std::string& policy);

/// --report and --progress.
struct output_flags {
  std::string report_path;
  std::string progress = "auto";
};
/// Adds --failed-keys (into `failed_keys`, described as keys that could not be `verb`ed),
/// --report and --progress.
void add_output_options(CLI::App& command, output_flags& flags, std::string& failed_keys,
                        std::string_view verb);
/// True when progress is a live line (a terminal, or --progress always).
bool live_progress(const output_flags& flags);

/// Durations given in the units people type.
struct tuning_flags {
  unsigned connect_timeout_ms = 10'000;
  unsigned timeout_ms = 30'000;
  unsigned max_retry_time_s = 300;
};
/// Which tuning options a command has.
struct tuning_choice {
  /// --threads, with its description.
  std::string threads_help;
  /// --scan-count and --readers (commands that read a source).
  bool source = true;
  /// --writers (commands that write a target).
  bool target = true;
  /// --batch-keys' description.
  std::string batch_keys_help = "Most keys per DUMP/RESTORE pipeline";
};
/// Adds the tuning and timeout options.
void add_tuning_options(CLI::App& command, engine::tuning& tune, tuning_flags& flags,
                        const tuning_choice& choice);
/// Puts the durations into `tune`.
void apply_tuning_flags(engine::tuning& tune, const tuning_flags& flags);

/// --checkpoint-interval in seconds.
struct state_flags {
  double checkpoint_interval_s = 5;
};
/// Adds --state, --resume and --checkpoint-interval; `position` says what the state file keeps
/// ("per source shard, the last fully written SCAN cursor").
void add_state_options(CLI::App& command, engine::checkpointing& state, state_flags& flags,
                       std::string_view resume_help);
/// Puts the interval into `state`; a usage error (--resume without --state).
std::optional<std::string> apply_state_flags(engine::checkpointing& state,
                                             const state_flags& flags);

/// Adds --max-keys-per-sec and --max-bytes-per-sec; `what` ends their descriptions ("Read ...
/// from the source", "Write ... to the target").
void add_rate_options(CLI::App& command, engine::source_protection& protect,
                      std::string_view keys_help, std::string_view bytes_help);

/// Checks, before anything is touched, that every named output file (`{path, flag}`; empty
/// paths skipped) can be written; the message names the flag.
std::optional<std::string> check_outputs(
    const std::vector<std::pair<std::string, const char*>>& outputs);

/// --read-from and --source-latency-target, as given.
struct source_read_flags {
  std::string read_from = "master";
  unsigned latency_target_ms = 0;
};
/// Adds --read-from and --source-latency-target.
void add_source_read_options(CLI::App& command, source_read_flags& flags);
/// Puts them into `protect`.
void apply_source_read_flags(engine::source_protection& protect, const source_read_flags& flags);

/// The flags `ferry copy` and `ferry sync` share, as given.
struct copy_flags {
  connection_flags connection;
  engine::copy_config config;
  std::string existing;
  std::string slots;
  output_flags output;
  tuning_flags tuning;
  state_flags state;
  source_read_flags reads;
  std::string on_target_loss = "stop";
  std::string string_reads = "get";
  /// --expiry-reads: auto or per-key.
  std::string expiry_reads = "auto";
};

/// Adds the options copy and sync share to `command`.
void add_copy_options(CLI::App& command, copy_flags& flags);

/// Turns the flags into `flags.config` (sides resolved, slots parsed, policies and durations
/// set). A usage error says which flag is wrong; `name` ("copy", "sync") starts the message.
std::optional<std::string> apply_copy_flags(copy_flags& flags, std::string_view name);

/// check_outputs for copy and sync: --report, --state, --failed-keys and `extra`.
std::optional<std::string> check_outputs(
    const copy_flags& flags, std::initializer_list<std::pair<std::string, const char*>> extra);

/// True when copy's or sync's progress is a live line.
inline bool live_progress(const copy_flags& flags) { return live_progress(flags.output); }

/// Where the databases left behind are, and what to do: a sentence for the end of a job.
std::string left_behind_text(const engine::copy_report& report, int source_db, bool ignored);

}  // namespace ferry::cli
