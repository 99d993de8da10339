#include "cli/import/import_command.hpp"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "cli/common/exit_codes.hpp"
#include "cli/common/job_options.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/progress.hpp"
#include "cli/common/service_options.hpp"
#include "cli/common/side_options.hpp"
#include "cli/common/signals.hpp"
#include "cli/import/import_report.hpp"
#include "engine/import/import_job.hpp"
#include "engine/import/import_plan.hpp"

namespace ferry::cli {
namespace {

struct import_flags {
  connection_flags connection;
  engine::import_config config;
  std::optional<std::uint64_t> db;
  std::string existing;
  output_flags output;
  tuning_flags tuning;
  state_flags state;
  service_flags service;
  bool no_precheck = false;
  std::string mode = "auto";
};

/// The end of an import in words on stderr, and its exit code.
int conclude(const engine::import_report& report, const engine::import_config& config) {
  switch (report.status) {
    case engine::job_status::complete:
      return exit_ok;
    case engine::job_status::differences:
      return exit_incomplete;
    case engine::job_status::left_behind:
      fmt::print(stderr,
                 "ferry import: the file also holds keys in {}, which were NOT imported (db {} "
                 "was); import each of them with a job of its own (--db N)\n",
                 engine::describe_databases(report.left_behind), report.db);
      return exit_incomplete;
    case engine::job_status::keys_failed:
      fmt::print(stderr, "ferry import: {} key(s) could not be imported{}\n",
                 with_commas(report.totals.failed),
                 config.failed_keys_path.empty()
                     ? "; run again with --failed-keys FILE to list them"
                     : fmt::format("; they are listed in {}", config.failed_keys_path));
      return exit_incomplete;
    case engine::job_status::interrupted:
      fmt::print(stderr, "ferry import: interrupted before every key was imported; {}\n",
                 config.state.path.empty()
                     ? "this run kept no state file, so a new run starts over (add --state FILE "
                       "to be able to resume)"
                     : fmt::format("run the same command with --resume to continue from byte {} "
                                   "of the file",
                                   report.offset));
      return exit_interrupted;
    case engine::job_status::fatal: {
      const std::string message =
          report.failure ? report.failure->message : "stopped by an unknown error";
      std::string written;
      if (report.totals.copied != 0) {
        written = fmt::format(" ({} key(s) read before that were imported)",
                              with_commas(report.totals.copied));
      }
      fmt::print(stderr, "ferry import: {}{}\n", message, written);
      return exit_failed;
    }
  }
  return exit_failed;
}

int run_import(import_flags& flags) {
  auto target = resolve_one_side(flags.connection, /*source=*/false);
  if (!target) {
    fmt::print(stderr, "ferry import: {}\n", target.error());
    return exit_usage;
  }
  engine::import_config& config = flags.config;
  if (auto wrong = apply_resume_if_exists(flags.service, config.state)) {
    fmt::print(stderr, "ferry import: {}\n", *wrong);
    return exit_usage;
  }
  config.target = std::move(*target);
  config.db = flags.db;
  config.existing = existing_policy_of(flags.existing);
  config.precheck = !flags.no_precheck;
  config.force_struct = flags.mode == "struct";
  apply_tuning_flags(config.tune, flags.tuning);
  if (auto wrong = apply_state_flags(config.state, flags.state)) {
    fmt::print(stderr, "ferry import: {}\n", *wrong);
    return exit_usage;
  }
  if (auto unusable = check_outputs({{flags.output.report_path, "--report"},
                                     {config.state.path, "--state"},
                                     {config.failed_keys_path, "--failed-keys"}})) {
    fmt::print(stderr, "ferry import: {}\n", *unusable);
    return exit_failed;
  }

  engine::import_job job(config);
  signal_watch signals([&job] { job.drain(); }, exit_interrupted);
  engine::import_report report;
  {
    std::unique_ptr<progress_printer> progress;
    if (flags.output.progress != "never") {
      progress = std::make_unique<progress_printer>(
          [&job] {
            const engine::import_progress now = job.progress();
            return progress_sample{now.keys.settled(), now.keys.estimated, now.file_read,
                                   "failed",           now.keys.failed,    {}};
          },
          live_progress(flags.output));
    }
    report = job.run();
  }
  fmt::print("{}", import_summary_text(report));
  for (const auto& warning : report.warnings) fmt::print(stderr, "\nWARNING: {}\n\n", warning);
  if (!flags.output.report_path.empty()) {
    if (auto written = write_json_file(flags.output.report_path, import_report_json(report));
        !written) {
      fmt::print(stderr,
                 "ferry import: --report: {}; the import itself ended as the summary above says, "
                 "but this run's report is lost: free space (or fix the permissions) there\n",
                 written.error());
      if (report.status == engine::job_status::complete) return exit_failed;
    }
  }
  return conclude(report, config);
}

}  // namespace

void add_import_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<import_flags>();
  CLI::App* command = app.add_subcommand(
      "import",
      "Import the keys of an RDB file (written by BGSAVE, redis-cli --rdb, ferry export, or a "
      "managed service's export) into any target: a standalone server, an OSS cluster, Azure "
      "Managed Redis, over TLS. The file is streamed (a file, - for stdin, gzip recognized), in "
      "bounded memory; each key is RESTOREd with its absolute expiry (its payload downgraded "
      "where the target's RDB version is older and that is exact), keys already expired are "
      "skipped, function libraries restored. What RESTORE cannot carry (a type or encoding the "
      "target does not know, a target that refuses RESTORE, a value over --big-key-bytes) is "
      "written with type commands from the file's decoded value (struct mode), large values in "
      "chunks under a temporary key renamed into place. A regular file is read once first, so a "
      "damaged one "
      "is refused before anything is written. Refuses a target that already holds keys unless "
      "--on-existing says what to do.");
  command->footer(exit_codes_help);
  command->add_option("file", flags->config.input, "The RDB file (.rdb or .rdb.gz); - for stdin")
      ->required()
      ->type_name("FILE");
  add_connection_options(*command, flags->connection, command_sides::target_only);
  command
      ->add_option("--db", flags->db,
                   "The file's database to import (the target's is the URL's /db or "
                   "--target-db); a file holding keys in several databases is refused without "
                   "it, naming them and their key counts")
      ->check(CLI::Range(0, 1 << 20))
      ->type_name("N");
  add_existing_option(*command, flags->existing, "target");
  add_output_options(*command, flags->output, flags->config.failed_keys_path, "imported");
  flags->config.tune.threads = 1;
  add_tuning_options(*command, flags->config.tune, flags->tuning,
                     {.threads_help = "Writer threads (1 to 256; the file is read on one more "
                                      "thread)",
                      .source = false,
                      .target = true,
                      .batch_keys_help = "Most keys per RESTORE pipeline"});
  add_state_options(*command, flags->config.state, flags->state,
                    "Continue the import recorded in --state from the file offset up to which "
                    "every key is written (the same file, --db and target)");
  add_resume_if_exists(*command, flags->service, command->get_option("--resume"));
  add_rate_options(*command, flags->config.protect,
                   "Write at most N keys per second to the target (0: no limit)",
                   "Write at most N DUMP payload bytes per second to the target (accepts KiB, "
                   "MiB suffixes; 0: no limit)");
  command
      ->add_option("--big-key-bytes", flags->config.big_key_bytes,
                   "Values whose DUMP payload is larger are never held whole: the file's reader "
                   "decodes them as it reads and they are written in chunks with type commands "
                   "(struct mode), 64 KiB to 64 GiB (accepts KiB, MiB, GiB; default: half of "
                   "--max-inflight-bytes)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{64} << 10, std::size_t{64} << 30));
  command
      ->add_option("--mode", flags->mode,
                   "How keys are written: auto (RESTORE, and type commands for what RESTORE "
                   "cannot carry: a payload the target cannot read, a target that refuses "
                   "RESTORE, values over --big-key-bytes) or struct (type commands for every "
                   "key)")
      ->check(CLI::IsMember({"auto", "struct"}))
      ->capture_default_str();
  command->add_flag("--no-precheck", flags->no_precheck,
                    "Do not read a regular file once before importing it (its CRC64 and "
                    "structure are then checked as it streams, so a damaged file is found only "
                    "after the keys before the damage were written); stdin is never prechecked");
  command->callback([flags, &exit_code] { exit_code = run_import(*flags); });
}

}  // namespace ferry::cli
