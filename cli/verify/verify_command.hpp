#pragma once
// `ferry verify`.

#include <CLI/CLI.hpp>

namespace ferry::cli {

/// Adds the `verify` subcommand to `app`; running it stores the exit code in `exit_code`.
void add_verify_command(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
