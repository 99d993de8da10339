#pragma once
// `ferry import FILE --target URL`: an RDB file's keys into any target.

#include <CLI/CLI.hpp>

namespace ferry::cli {

/// Registers the `import` subcommand; its exit code goes to `exit_code`.
void add_import_command(CLI::App& app, int& exit_code);

}  // namespace ferry::cli
