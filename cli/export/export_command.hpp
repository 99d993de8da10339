#pragma once
// `ferry export --source URL --output FILE`: a live source into a standard RDB file.

#include <CLI/CLI.hpp>

namespace ferry::cli {

/// Registers the `export` subcommand; its exit code goes to `exit_code`.
void add_export_command(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
