#pragma once
// Options that several commands share (copy, import, export): the existing-key policy, output
// files and progress, tuning and timeouts, the state file, rate limits. Each group is added by
// one function and turned into the engine's settings by another, so every command says the same
// thing the same way.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/copy/copy_config.hpp"
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

}  // namespace ferry::cli
