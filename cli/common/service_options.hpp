#pragma once
// Options for jobs that a service manager runs and restarts (systemd, a container, a Kubernetes
// Job), shared by `copy` and `sync`:
// - --shard-index I --shard-count N: one part of a migration split over N processes (a
//   Kubernetes Indexed Job sets JOB_COMPLETION_INDEX, which stands for a missing --shard-index);
// - --resume-if-exists: continue the state file when it exists, start the job when it does not,
//   so the same command line serves the first start and every restart.

#include <CLI/CLI.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/copy/slot_split.hpp"
#include "engine/runtime/settings.hpp"

namespace ferry::cli {

/// The options as given.
struct service_flags {
  /// --shard-index.
  std::optional<std::uint32_t> shard_index;
  /// --shard-count.
  std::optional<std::uint32_t> shard_count;
  /// --resume-if-exists.
  bool resume_if_exists = false;
};

/// Adds --shard-index and --shard-count to `command` (in a "Splitting a migration" group).
void add_split_options(CLI::App& command, service_flags& flags);

/// Adds --resume-if-exists to `command`, next to its --resume (`resume`, which it excludes).
void add_resume_if_exists(CLI::App& command, service_flags& flags, CLI::Option* resume);

/// The part the flags ask for; nothing for a job that is not split. `completion_index` is
/// JOB_COMPLETION_INDEX (null when unset), used when --shard-index is not given. The error
/// names the flag and what to give instead.
boost::system::result<std::optional<engine::slot_part>, std::string> split_part(
    const service_flags& flags, const char* completion_index);

/// --resume-if-exists: sets `state.resume` when the state file exists. The error says that it
/// needs --state.
std::optional<std::string> apply_resume_if_exists(const service_flags& flags,
                                                  engine::checkpointing& state);

}  // namespace ferry::cli
