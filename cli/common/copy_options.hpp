#pragma once
// The options `ferry copy` and `ferry sync` share (sync's snapshot is a copy): connections, TLS
// and credentials, filters, the existing-key policy, reports, progress, tuning, timeouts, the
// state file, rate limits, replicas and the target-loss policy; and how they become a
// copy_config.

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/common/side_options.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/copy_job.hpp"

namespace ferry::cli {

/// The shared flags, as given.
struct copy_flags {
  connection_flags connection;
  engine::copy_config config;
  std::string existing;
  std::string slots;
  std::string report_path;
  std::string progress = "auto";
  unsigned connect_timeout_ms = 10'000;
  unsigned timeout_ms = 30'000;
  unsigned max_retry_time_s = 300;
  double checkpoint_interval_s = 5;
  std::string read_from = "master";
  unsigned latency_target_ms = 0;
  std::string on_target_loss = "stop";
  std::string string_reads = "get";
};

/// Adds the shared options to `command`.
void add_copy_options(CLI::App& command, copy_flags& flags);

/// Turns the flags into `flags.config` (sides resolved, slots parsed, policies and durations
/// set). A usage error says which flag is wrong; `name` ("copy", "sync") starts the message.
std::optional<std::string> apply_copy_flags(copy_flags& flags, std::string_view name);

/// Checks that every output file the flags name (`extra` adds more: {path, flag}) can be
/// written, before anything is touched; the message names the flag.
std::optional<std::string> check_outputs(
    const copy_flags& flags, std::initializer_list<std::pair<std::string, const char*>> extra);

/// True when progress is wanted as a live line (a terminal, or --progress always).
bool live_progress(const copy_flags& flags);

/// Where the databases left behind are, and what to do: a sentence for the end of a job.
std::string left_behind_text(const engine::copy_report& report, int source_db, bool ignored);

}  // namespace ferry::cli
