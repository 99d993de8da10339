#include "cli/common/service_options.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <filesystem>

namespace ferry::cli {

void add_split_options(CLI::App& command, service_flags& flags) {
  const char* group = "Splitting a migration";
  command
      .add_option("--shard-index", flags.shard_index,
                  "Copy part I (0 to N-1) of a migration split over --shard-count N processes; "
                  "default: $JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job). The parts "
                  "are disjoint and cover every slot: whole source masters per part when there "
                  "are at least N masters, slot ranges of masters otherwise. Each part needs its "
                  "own --state file")
      ->check(CLI::Range(0, 16383))
      ->type_name("I")
      ->group(group);
  command
      .add_option("--shard-count", flags.shard_count,
                  "Split the migration into N parts, one per process (1 to 16384); combine with "
                  "--slots to split a slot range")
      ->check(CLI::Range(1, 16384))
      ->type_name("N")
      ->group(group);
}

void add_resume_if_exists(CLI::App& command, service_flags& flags, CLI::Option* resume) {
  auto* option = command.add_flag(
      "--resume-if-exists", flags.resume_if_exists,
      "Continue the job recorded in --state when that file exists, and start it (creating the "
      "file) when it does not: one command line for the first start and every restart of a "
      "service, a container or a Kubernetes pod");
  if (resume != nullptr) option->excludes(resume);
}

boost::system::result<std::optional<engine::slot_part>, std::string> split_part(
    const service_flags& flags, const char* completion_index) {
  if (!flags.shard_count) {
    if (flags.shard_index) {
      return std::string(
          "--shard-index needs --shard-count N (how many parts the migration is "
          "split into)");
    }
    return std::optional<engine::slot_part>{};
  }
  engine::slot_part part;
  part.count = *flags.shard_count;
  if (flags.shard_index) {
    part.index = *flags.shard_index;
  } else if (completion_index != nullptr && *completion_index != '\0') {
    const char* end = completion_index + std::strlen(completion_index);
    const auto [at, error] = std::from_chars(completion_index, end, part.index);
    if (error != std::errc{} || at != end) {
      return fmt::format("JOB_COMPLETION_INDEX '{}' is not a number: give --shard-index I",
                         completion_index);
    }
  } else {
    return fmt::format(
        "--shard-count {} needs --shard-index I (0 to {}), or JOB_COMPLETION_INDEX "
        "in the environment, as a Kubernetes Indexed Job sets it",
        part.count, part.count - 1);
  }
  if (part.index >= part.count) {
    return fmt::format("--shard-index {} is not a part of --shard-count {} (parts are 0 to {})",
                       part.index, part.count, part.count - 1);
  }
  return std::optional<engine::slot_part>{part};
}

std::optional<std::string> apply_resume_if_exists(const service_flags& flags,
                                                  engine::checkpointing& state) {
  if (!flags.resume_if_exists) return std::nullopt;
  if (state.path.empty()) {
    return std::string(
        "--resume-if-exists needs --state FILE (the state file to continue, or to "
        "create)");
  }
  std::error_code ignored;
  state.resume = std::filesystem::exists(state.path, ignored);
  return std::nullopt;
}

}  // namespace ferry::cli
