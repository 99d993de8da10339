#pragma once
// Getting the text of a token: reading a file, or running a command and taking its stdout.
// The messages name the file (or say "the command") and never quote what was read.

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "engine/auth/jwt.hpp"

namespace ferry::engine::detail {

/// The whole file (at most 64 KiB), or why it cannot be read.
token_text read_token_file(const std::string& path);

/// Runs `/bin/sh -c command` with stdin from /dev/null and returns its stdout (at most 64 KiB)
/// when it exits with code 0 within `timeout`; otherwise why not (exit code, or killed after the
/// timeout, and the last line it wrote on stderr, with anything that looks like a token masked).
/// The command (and what it started) is killed when `cancel` becomes true.
token_text run_token_command(const std::string& command, std::chrono::milliseconds timeout,
                             const std::atomic<bool>* cancel = nullptr);

/// `text` with every run of 24 or more characters that could be part of a JWT (letters, digits,
/// '-', '_', '.') replaced by "***".
std::string mask_tokens(std::string_view text);

}  // namespace ferry::engine::detail
