#pragma once
// Runs the real `ferry` executable as a user would: arguments, environment, separate stdout and
// stderr, exit code, peak memory. Used by every integration test that drives ferry.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

/// How a ferry run ended.
struct ferry_result {
  /// Exit code, or 128 + signal when it was killed.
  int exit_code = -1;
  /// Everything it printed on stdout.
  std::string out;
  /// Everything it printed on stderr.
  std::string err;
  /// Peak resident set size in KiB (wait4's ru_maxrss).
  long max_rss_kb = 0;
  /// User + system CPU seconds.
  double cpu_seconds = 0;
  /// Wall-clock seconds.
  double seconds = 0;
  /// stdout and stderr together, for EXPECT messages.
  std::string output() const { return "--- stdout\n" + out + "--- stderr\n" + err; }
};

/// Limits set in the child between fork and exec.
struct ferry_limits {
  /// RLIMIT_FSIZE in bytes: a write that would make a file larger fails (EFBIG; ferry ignores
  /// SIGXFSZ), as on a full disk.
  std::optional<std::uint64_t> file_size;
};

/// A running ferry. The destructor kills and reaps it if it still runs.
class ferry_process {
 public:
  /// Starts `ferry <args...>` with `env` added to the environment; output goes to files in
  /// `dir`, its standard input is `stdin_file`. PR_SET_PDEATHSIG ties it to the calling thread.
  ferry_process(const std::vector<std::string>& args, const std::filesystem::path& dir,
                const std::map<std::string, std::string>& env = {}, const ferry_limits& limits = {},
                const std::filesystem::path& stdin_file = "/dev/null");
  ~ferry_process();
  ferry_process(const ferry_process&) = delete;
  ferry_process& operator=(const ferry_process&) = delete;

  /// Its pid.
  pid_t pid() const noexcept { return pid_; }
  /// Sends a signal.
  void signal(int signal_number);
  /// True while it has not exited.
  bool running();
  /// Waits up to `timeout` for it to exit (then SIGKILLs it and says so in `err`).
  ferry_result wait(std::chrono::milliseconds timeout = std::chrono::seconds{120});
  /// What it printed on stderr so far.
  std::string err_so_far() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path out_file_, err_file_;
  std::chrono::steady_clock::time_point started_;
  ferry_result result_;
};

/// Runs ferry to its end (bounded by `timeout`), `stdin_file` as its standard input.
ferry_result run_ferry(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds{120},
                       const std::map<std::string, std::string>& env = {},
                       const std::filesystem::path& stdin_file = "/dev/null");

}  // namespace ferry::testing
