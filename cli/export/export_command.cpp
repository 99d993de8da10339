#include "cli/export/export_command.hpp"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "cli/common/exit_codes.hpp"
#include "cli/common/job_options.hpp"
#include "cli/common/json_file.hpp"
#include "cli/common/progress.hpp"
#include "cli/common/side_options.hpp"
#include "cli/common/signals.hpp"
#include "cli/export/export_report.hpp"
#include "engine/import/export_job.hpp"

namespace ferry::cli {
namespace {

struct export_flags {
  connection_flags connection;
  engine::export_config config;
  std::optional<unsigned> rdb_version;
  bool gzip = false;
  int gzip_level = 6;
  output_flags output;
  tuning_flags tuning;
  source_read_flags reads;
};

bool ends_with(const std::string& text, std::string_view end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

int conclude(const engine::export_report& report, const engine::export_config& config) {
  switch (report.status) {
    case engine::job_status::complete:
      return exit_ok;
    case engine::job_status::differences:
      return exit_incomplete;
    case engine::job_status::left_behind: {
      std::string dbs;
      for (const auto& db : report.left_behind) {
        dbs +=
            fmt::format("{}db {} ({} keys)", dbs.empty() ? "" : ", ", db.db, with_commas(db.keys));
      }
      fmt::print(stderr,
                 "ferry export: the file holds db {} only: {} were NOT exported; export each "
                 "database with a job of its own (--source-db N) into a file of its own, or add "
                 "--ignore-other-dbs if they are meant to stay behind\n",
                 report.db, dbs);
      return config.ignore_other_dbs ? exit_ok : exit_incomplete;
    }
    case engine::job_status::keys_failed:
      fmt::print(stderr, "ferry export: {} key(s) could not be read and are not in the file{}\n",
                 with_commas(report.totals.failed),
                 config.failed_keys_path.empty()
                     ? "; run again with --failed-keys FILE to list them"
                     : fmt::format("; they are listed in {}", config.failed_keys_path));
      return exit_incomplete;
    case engine::job_status::interrupted:
      fmt::print(stderr, "ferry export: interrupted; {} was not written\n", config.output);
      return exit_interrupted;
    case engine::job_status::fatal:
      fmt::print(stderr, "ferry export: {}; {} was not written\n",
                 report.failure ? report.failure->message : "stopped by an unknown error",
                 config.output);
      return exit_failed;
  }
  return exit_failed;
}

int run_export(export_flags& flags) {
  auto source = resolve_one_side(flags.connection, /*source=*/true);
  if (!source) {
    fmt::print(stderr, "ferry export: {}\n", source.error());
    return exit_usage;
  }
  engine::export_config& config = flags.config;
  config.source = std::move(*source);
  if (flags.rdb_version) config.rdb_version = static_cast<std::uint16_t>(*flags.rdb_version);
  config.gzip_level = flags.gzip || ends_with(config.output, ".gz") ? flags.gzip_level : 0;
  apply_tuning_flags(config.tune, flags.tuning);
  apply_source_read_flags(config.protect, flags.reads);
  if (auto unusable = check_outputs({{flags.output.report_path, "--report"},
                                     {config.output, "--output"},
                                     {config.failed_keys_path, "--failed-keys"}})) {
    fmt::print(stderr, "ferry export: {}\n", *unusable);
    return exit_failed;
  }
  engine::export_job job(config);
  signal_watch signals([&job] { job.drain(); }, exit_interrupted);
  engine::export_report report;
  {
    std::unique_ptr<progress_printer> progress;
    if (flags.output.progress != "never") {
      progress = std::make_unique<progress_printer>(
          [&job] {
            const engine::counts c = job.progress();
            return progress_sample{c.settled(), c.estimated, job.file_bytes(),
                                   "failed",    c.failed,    {}};
          },
          live_progress(flags.output));
    }
    report = job.run();
  }
  fmt::print("{}", export_summary_text(report));
  for (const auto& warning : report.warnings) fmt::print(stderr, "\nWARNING: {}\n\n", warning);
  if (!flags.output.report_path.empty()) {
    if (auto written = write_json_file(flags.output.report_path, export_report_json(report));
        !written) {
      fmt::print(stderr,
                 "ferry export: --report: {}; the export itself ended as the summary above says, "
                 "but this run's report is lost: free space (or fix the permissions) there\n",
                 written.error());
      if (report.status == engine::job_status::complete) return exit_failed;
    }
  }
  return conclude(report, config);
}

}  // namespace

void add_export_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<export_flags>();
  CLI::App* command = app.add_subcommand(
      "export",
      "Write every key of the source (any node of a cluster: every master is read) into one "
      "standard RDB file that redis-server, Azure Managed Redis's import and `ferry import` "
      "load: SCAN, DUMP and PEXPIRETIME per key, function libraries included, in bounded memory "
      "(plus 16-32 bytes per key to write each key once). Each key is as the source held it when "
      "it was read: the file is per-key consistent, NOT a point-in-time snapshot. It is written "
      "to a temporary file, fsynced and renamed, so FILE appears only whole.");
  command->footer(exit_codes_help);
  add_connection_options(*command, flags->connection, command_sides::source_only);
  command->add_option("--output", flags->config.output, "The RDB file to write (.rdb, .rdb.gz)")
      ->required()
      ->type_name("FILE");
  command
      ->add_option("--rdb-version", flags->rdb_version,
                   "The file's RDB version, for the server that will load it: 9 (Redis 5.0-6.2), "
                   "10 (7.0), 11 (7.2, Valkey 7.2-8.1), 12 (7.4, 8.0), 80 (Valkey 9); default: "
                   "the highest version of the source's payloads. A payload the version cannot "
                   "hold stops the export, unless rewriting its version is exact")
      ->check(CLI::Range(1, 12) | CLI::IsMember({80}))
      ->type_name("N");
  command->add_flag("--gzip", flags->gzip,
                    "Compress the file with gzip (also when FILE ends in .gz)");
  command->add_option("--gzip-level", flags->gzip_level, "zlib compression level, 1 (fast) to 9")
      ->check(CLI::Range(1, 9))
      ->capture_default_str();
  auto& c = flags->config;
  command->add_option("--match", c.match, "Export only keys matching this glob (SCAN MATCH)")
      ->type_name("GLOB");
  command->add_option("--type", c.type, "Export only keys of this type (SCAN TYPE)")
      ->check(CLI::IsMember({"string", "list", "set", "zset", "hash", "stream"}))
      ->type_name("TYPE");
  add_output_options(*command, flags->output, c.failed_keys_path, "read");
  add_tuning_options(*command, c.tune, flags->tuning,
                     {.threads_help = "Worker threads, each owning whole source shards (1 to "
                                      "256; default: the number of cores)",
                      .source = true,
                      .target = false,
                      .batch_keys_help = "Most keys per DUMP pipeline"});
  add_rate_options(*command, c.protect,
                   "Read at most N keys per second from the source, across all shards (0: no "
                   "limit)",
                   "Read at most N DUMP payload bytes per second from the source (accepts KiB, "
                   "MiB suffixes; 0: no limit)");
  add_source_read_options(*command, flags->reads);
  command->add_flag("--ignore-other-dbs", c.ignore_other_dbs,
                    "The source's other databases are meant to stay behind: keys there are "
                    "reported but do not make the exit code 1");
  command->callback([flags, &exit_code] { exit_code = run_export(*flags); });
}

}  // namespace ferry::cli
