#pragma once
// `ferry copy`.

#include <CLI/CLI.hpp>

namespace ferry::cli {

/// Adds the `copy` subcommand to `app`; running it stores the exit code in `exit_code`.
void add_copy_command(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
