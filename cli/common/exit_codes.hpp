#pragma once
// ferry's exit codes, the same for every subcommand.

namespace ferry::cli {

/// Everything was done: every key copied or accounted for; or source and target equal.
inline constexpr int exit_ok = 0;
/// The job ran to its end but some keys failed (copy) or differ (verify, copy --verify).
inline constexpr int exit_incomplete = 1;
/// The job could not run or was stopped by a fatal error (bad URL, connection, auth, TLS, OOM).
inline constexpr int exit_failed = 2;
/// Stopped by SIGINT/SIGTERM after finishing what was in flight.
inline constexpr int exit_interrupted = 3;
/// The command line was wrong.
inline constexpr int exit_usage = 64;

/// The text of `--help`'s footer that documents the codes.
inline constexpr const char* exit_codes_help =
    "Exit codes: 0 done; 1 some keys failed (copy) or differ (verify, copy --verify); 2 could not "
    "run or stopped "
    "by a fatal error; 3 interrupted (SIGINT/SIGTERM); 64 bad command line.";

}  // namespace ferry::cli
