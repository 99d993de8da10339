#include "cli/common/job_options.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "cli/common/json_file.hpp"

namespace ferry::cli {

void add_existing_option(CLI::App& command, std::string& policy, std::string_view target_word) {
  command
      .add_option("--on-existing", policy,
                  fmt::format("Keys that already exist on the {}: fail (report them), skip, or "
                              "replace. Required when the {} is not empty",
                              target_word, target_word))
      ->check(CLI::IsMember({"fail", "skip", "replace"}))
      ->type_name("POLICY");
}

engine::existing_policy existing_policy_of(const std::string& policy) {
  if (policy == "fail") return engine::existing_policy::fail;
  if (policy == "skip") return engine::existing_policy::skip;
  if (policy == "replace") return engine::existing_policy::replace;
  return engine::existing_policy::unset;
}

void add_output_options(CLI::App& command, output_flags& flags, std::string& failed_keys,
                        std::string_view verb) {
  command
      .add_option("--failed-keys", failed_keys,
                  fmt::format("Write each key that could not be {}, with its error, to FILE (JSON "
                              "lines)",
                              verb))
      ->type_name("FILE");
  command
      .add_option("--report", flags.report_path,
                  "Write the final report as JSON to FILE (totals and per shard)")
      ->type_name("FILE");
  command
      .add_option("--progress", flags.progress,
                  "Progress on stderr: auto (a live line on a terminal, a log line every 5 s "
                  "otherwise), always (live), never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
}

bool live_progress(const output_flags& flags) {
  return flags.progress == "always" || (flags.progress == "auto" && isatty(2));
}

void add_tuning_options(CLI::App& command, engine::tuning& tune, tuning_flags& flags,
                        const tuning_choice& choice) {
  command.add_option("--threads", tune.threads, choice.threads_help)
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  if (choice.source) {
    command.add_option("--scan-count", tune.scan_count, "SCAN COUNT hint")
        ->check(CLI::Range(1, 1'000'000))
        ->capture_default_str();
  }
  command.add_option("--batch-keys", tune.batch_keys, choice.batch_keys_help)
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  command
      .add_option("--batch-bytes", tune.batch_bytes,
                  "Payload bytes a reader batch aims at, 1 KiB to 256 MiB (accepts KiB, MiB "
                  "suffixes)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1} << 10, std::size_t{256} << 20))
      ->capture_default_str();
  command
      .add_option("--max-inflight-bytes", tune.max_inflight_bytes,
                  "Most DUMP payload bytes held in memory at once, 1 MiB to 64 GiB (accepts KiB, "
                  "MiB, GiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1} << 20, std::size_t{64} << 30))
      ->capture_default_str();
  if (choice.source) {
    command
        .add_option("--readers", tune.readers_per_shard, "Source connections reading per shard")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
  }
  if (choice.target) {
    command
        .add_option("--writers", tune.writers_per_shard,
                    "Writer pipelines per shard (each connects to the target masters it needs)")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
  }
  command
      .add_option("--connect-timeout", flags.connect_timeout_ms,
                  "Milliseconds allowed for connecting and the TLS handshake")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  command
      .add_option("--timeout", flags.timeout_ms,
                  "Milliseconds any read or write may go without progress before the connection "
                  "is dropped and the batch retried")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  command
      .add_option("--max-retry-time", flags.max_retry_time_s,
                  "Seconds to keep retrying an unreachable node before stopping the job")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
}

void apply_tuning_flags(engine::tuning& tune, const tuning_flags& flags) {
  tune.connect_timeout = std::chrono::milliseconds{flags.connect_timeout_ms};
  tune.io_timeout = std::chrono::milliseconds{flags.timeout_ms};
  tune.max_retry_time = std::chrono::seconds{flags.max_retry_time_s};
}

void add_state_options(CLI::App& command, engine::checkpointing& state, state_flags& flags,
                       std::string_view resume_help) {
  command
      .add_option("--state", state.path,
                  "Keep the job's progress in FILE (JSON, written atomically every "
                  "--checkpoint-interval and at exit) so that --resume can continue it")
      ->type_name("FILE");
  command.add_flag("--resume", state.resume, std::string(resume_help));
  command
      .add_option("--checkpoint-interval", flags.checkpoint_interval_s,
                  "Seconds between writes of the state file")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
}

std::optional<std::string> apply_state_flags(engine::checkpointing& state,
                                             const state_flags& flags) {
  state.interval =
      std::chrono::milliseconds{static_cast<long long>(flags.checkpoint_interval_s * 1000)};
  if (state.resume && state.path.empty()) {
    return std::string("--resume needs --state FILE (the state file to continue)");
  }
  return std::nullopt;
}

void add_rate_options(CLI::App& command, engine::source_protection& protect,
                      std::string_view keys_help, std::string_view bytes_help) {
  command.add_option("--max-keys-per-sec", protect.max_keys_per_sec, std::string(keys_help))
      ->check(CLI::NonNegativeNumber)
      ->type_name("N");
  command.add_option("--max-bytes-per-sec", protect.max_bytes_per_sec, std::string(bytes_help))
      ->transform(CLI::AsSizeValue(false))
      ->type_name("N");
}

std::optional<std::string> check_outputs(
    const std::vector<std::pair<std::string, const char*>>& outputs) {
  for (const auto& [path, flag] : outputs) {
    if (auto usable = check_writable(path, flag); !usable) return usable.error();
  }
  return std::nullopt;
}

}  // namespace ferry::cli
