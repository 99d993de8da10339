#pragma once
// `ferry plan`.

#include <CLI/CLI.hpp>

namespace ferry::cli {

/// Adds the `plan` subcommand to `app`; running it stores the exit code in `exit_code`.
void add_plan_command(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
