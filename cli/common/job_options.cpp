#include "cli/common/job_options.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include "cli/common/json_file.hpp"
#include "cli/common/progress.hpp"

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
    command.add_option("--readers", tune.readers_per_shard, "Source connections reading per shard")
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

void add_source_read_options(CLI::App& command, source_read_flags& flags) {
  command
      .add_option("--read-from", flags.read_from,
                  "Cluster sources: read from each master, or from one of its replicas so the "
                  "master stays responsive (a replica may lag; Redis 7.0 replicas also lack "
                  "consumer groups' entries-read)")
      ->check(CLI::IsMember({"master", "replicas"}))
      ->capture_default_str();
  command
      .add_option("--source-latency-target", flags.latency_target_ms,
                  "Slow down while the source's round-trip time exceeds MS milliseconds "
                  "(measured with PING beside the copy; 0: off)")
      ->type_name("MS");
}

void apply_source_read_flags(engine::source_protection& protect, const source_read_flags& flags) {
  protect.read_from_replicas = flags.read_from == "replicas";
  protect.latency_target = std::chrono::milliseconds{flags.latency_target_ms};
}

void add_copy_options(CLI::App& command, copy_flags& flags) {
  add_connection_options(command, flags.connection);
  engine::copy_config& c = flags.config;
  command.add_option("--match", c.match, "Copy only keys matching this glob (SCAN MATCH)")
      ->type_name("GLOB");
  command.add_option("--type", c.type, "Copy only keys of this type (SCAN TYPE)")
      ->check(CLI::IsMember({"string", "list", "set", "zset", "hash", "stream"}))
      ->type_name("TYPE");
  command
      .add_option("--slots", flags.slots,
                  "Copy only keys whose hash slot is in A-B, so several ferry processes can "
                  "split one migration")
      ->type_name("A-B");
  add_existing_option(command, flags.existing, "target");
  add_output_options(command, flags.output, c.failed_keys_path, "copied");
  add_tuning_options(command, c.tune, flags.tuning,
                     {.threads_help = "Worker threads, each owning whole source shards (1 to 256; "
                                      "default: the number of cores)"});
  add_state_options(command, c.state, flags.state,
                    "Continue the job recorded in --state: finished shards are skipped, the "
                    "others go on from their last fully written SCAN cursor");
  add_rate_options(command, c.protect,
                   "Read at most N keys per second from the source, across all shards (0: no "
                   "limit)",
                   "Read at most N DUMP payload bytes per second from the source (accepts KiB, "
                   "MiB suffixes; 0: no limit)");
  add_source_read_options(command, flags.reads);
  command
      .add_option("--on-target-loss", flags.on_target_loss,
                  "A target node that restarts or fails over may lose keys ferry wrote (ferry "
                  "keeps marks on the target to tell): stop (exit code 2; the state file points "
                  "back to what the target still holds, so --resume copies the rest again) or "
                  "recopy (go back and copy again without stopping)")
      ->check(CLI::IsMember({"stop", "recopy"}))
      ->capture_default_str();
  command
      .add_option("--string-reads", flags.string_reads,
                  "How string keys are read: get (GET and the expiry, written with SET ... PXAT: "
                  "about two thirds of the source's CPU of DUMP for small strings, a tenth for "
                  "large ones; where the target is Redis >= 6.2, and while strings are at least "
                  "60 % of the keys read) or dump (DUMP and RESTORE, as for every other type)")
      ->check(CLI::IsMember({"get", "dump"}))
      ->capture_default_str();
  command
      .add_option("--expiry-reads", flags.expiry_reads,
                  "How each key's expiry is read: auto (where the source's INFO shows its database "
                  "has no key with an expiry, checked before and after each batch on the master "
                  "itself, keys are read without an expiry command: about 40 % less of the "
                  "source's CPU for small strings; otherwise as per-key) or per-key (PEXPIRETIME, "
                  "or PTTL before Redis 7, beside every key)")
      ->check(CLI::IsMember({"auto", "per-key"}))
      ->capture_default_str();
  command.add_flag("--ignore-other-dbs", c.ignore_other_dbs,
                   "The source's other databases are meant to stay behind: keys there are reported "
                   "but do not make the exit code 1");
}

std::optional<std::string> apply_copy_flags(copy_flags& flags, std::string_view name) {
  auto sides = resolve_sides(flags.connection);
  if (!sides) return fmt::format("ferry {}: {}", name, sides.error());
  engine::copy_config& config = flags.config;
  config.source = std::move(sides->first);
  config.target = std::move(sides->second);
  if (!flags.slots.empty()) {
    auto range = protocol::parse_slot_range(flags.slots);
    if (!range) return fmt::format("ferry {}: --slots: {}", name, range.error());
    config.slots = *range;
  }
  config.existing = existing_policy_of(flags.existing);
  apply_tuning_flags(config.tune, flags.tuning);
  if (auto wrong = apply_state_flags(config.state, flags.state)) {
    return fmt::format("ferry {}: {}", name, *wrong);
  }
  apply_source_read_flags(config.protect, flags.reads);
  config.on_target_loss = flags.on_target_loss == "recopy" ? engine::target_loss_policy::recopy
                                                           : engine::target_loss_policy::stop;
  config.string_reads = flags.string_reads == "get";
  config.expiry_probe = flags.expiry_reads == "auto";
  return std::nullopt;
}

std::optional<std::string> check_outputs(
    const copy_flags& flags, std::initializer_list<std::pair<std::string, const char*>> extra) {
  // Every output is checked before anything is touched: a report that cannot be written must
  // not be found out after hours of copying.
  std::vector<std::pair<std::string, const char*>> outputs{
      {flags.output.report_path, "--report"},
      {flags.config.state.path, "--state"},
      {flags.config.failed_keys_path, "--failed-keys"}};
  outputs.insert(outputs.end(), extra.begin(), extra.end());
  return check_outputs(outputs);
}

std::string left_behind_text(const engine::copy_report& report, int source_db, bool ignored) {
  std::string dbs;
  std::uint64_t keys = 0;
  for (const auto& db : report.left_behind) {
    if (!dbs.empty()) dbs += ", ";
    dbs += fmt::format("db {} ({} keys)", db.db, with_commas(db.keys));
    keys += db.keys;
  }
  if (ignored) {
    return fmt::format(
        "ferry copied db {} only, as --ignore-other-dbs says; {} key(s) stay "
        "behind in {}",
        source_db, with_commas(keys), dbs);
  }
  return fmt::format(
      "ferry copied db {} only: {} key(s) in {} were NOT copied. Azure Managed Redis and every "
      "cluster have only db 0, so copy each database with a job of its own (--source-db N) into "
      "a separate target, or into this one under a key prefix of your own; if those keys are "
      "meant to stay behind, add --ignore-other-dbs (exit code 0)",
      source_db, with_commas(keys), dbs);
}

}  // namespace ferry::cli
