// ferry: copies and replicates Redis datasets exactly, fast and resumably.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "cli/common/exit_codes.hpp"
#include "cli/common/secrets.hpp"
#include "cli/copy/copy_command.hpp"
#include "cli/export/export_command.hpp"
#include "cli/import/import_command.hpp"
#include "cli/plan/plan_command.hpp"
#include "cli/sync/sync_command.hpp"
#include "cli/verify/verify_command.hpp"

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace ferry::cli;
  // A file-size limit (ulimit -f) must make a write fail, which ferry reports, rather than kill
  // the process with SIGXFSZ in the middle of a job.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "ferry copies a Redis dataset from a source (self-hosted Redis, Azure Cache for Redis, "
      "ElastiCache; standalone or OSS cluster) into a target (Azure Managed Redis or any Redis) "
      "exactly: every key with its type, value and absolute expiry, over TLS, with bounded "
      "memory, and says honestly what it did.",
      "ferry"};
  app.set_version_flag("--version", std::string("ferry ") + FERRY_VERSION);
  app.require_subcommand(1);
  app.footer(exit_codes_help);
  int exit_code = exit_ok;
  add_copy_command(app, exit_code);
  add_verify_command(app, exit_code);
  add_plan_command(app, exit_code);
  add_sync_command(app, exit_code);
  add_import_command(app, exit_code);
  add_export_command(app, exit_code);
  // Passwords typed in URLs leave the process list before anything else happens.
  std::vector<std::string> arguments = take_arguments(argc, argv);
  std::reverse(arguments.begin(), arguments.end());  // CLI11 takes them last first
  try {
    app.parse(arguments);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 may quote an argument it did not expect: never a password.
    fmt::print(stderr, "{}\nRun with --help for more information.\n", redact_urls(e.what()));
    return exit_usage;
  }
  return exit_code;
}
