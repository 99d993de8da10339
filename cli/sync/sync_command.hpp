#pragma once
// `ferry sync`.

#include <CLI/CLI.hpp>

namespace ferry::cli {

/// Adds the `sync` subcommand to `app`; running it stores the exit code in `exit_code`.
void add_sync_command(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
