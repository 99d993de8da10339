#pragma once
// Child processes for integration tests: started with fork/exec (no shell), tied to the test
// process's life with PR_SET_PDEATHSIG, and always reaped. Also the free-port helpers, because a
// process is only useful once it owns a port.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

/// A child started with fork/exec. The destructor SIGKILLs and reaps it.
///
/// The child gets PR_SET_PDEATHSIG(SIGKILL): it dies when the thread that forked it exits, which
/// also covers abort() and SIGKILL of the test process. Spawn from the test's main thread (or a
/// thread that outlives the child) for that reason.
class child_process {
 public:
  /// Starts `argv[0]` (an absolute path, or a name looked up in PATH before the fork) with the
  /// rest as arguments; stdout and stderr are appended to `log_file`; stdin is /dev/null.
  static child_process spawn(const std::vector<std::string>& argv,
                             const std::filesystem::path& log_file);

  /// An empty handle that owns no process.
  child_process() = default;
  /// Kills and reaps the child if it still runs.
  ~child_process();
  /// Moves ownership; the source owns nothing afterwards.
  child_process(child_process&& other) noexcept;
  /// Kills the owned child, then takes over `other`'s.
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The child's pid, or -1 when empty.
  pid_t pid() const noexcept { return pid_; }
  /// True while the child has not exited (reaps it without blocking when it has).
  bool running();
  /// The raw waitpid status once the child has been reaped.
  std::optional<int> exit_status() const noexcept { return status_; }
  /// Sends `signal` to the child (no-op once reaped).
  void signal(int signal_number);
  /// Waits up to `timeout` for the child to exit; true when it has (and is reaped).
  bool wait_exit(std::chrono::milliseconds timeout);
  /// SIGKILLs the child and reaps it; blocks (SIGKILL cannot be ignored, so this is bounded).
  void kill_and_reap() noexcept;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// "exit code N" or "killed by signal N (name)" for a waitpid status.
std::string describe_exit_status(int status);

/// Absolute path of `name`, searched in PATH (a name containing '/' is returned as is).
/// Throws when not found.
std::filesystem::path find_executable(const std::string& name);

/// True when a process `pid` exists and is not a zombie. Zombies count as gone because an
/// orphaned child may be reparented to a PID 1 that never reaps.
bool process_alive(pid_t pid);

/// Polls `process_alive` until false or `timeout`; true when the process is gone.
bool wait_process_gone(pid_t pid, std::chrono::milliseconds timeout);

/// The last `lines` lines of a text file (empty when it cannot be read).
std::string file_tail(const std::filesystem::path& file, std::size_t lines = 30);

/// Whole contents of a file (empty when it cannot be read), e.g. /proc/<pid>/cmdline.
std::string file_contents(const std::filesystem::path& file);

/// A listening socket that keeps a loopback port taken, for "port in use" and "peer accepts
/// but never answers" tests.
class port_holder {
 public:
  /// Listens on 127.0.0.1:`port` (0: a free port); throws when the port cannot be bound.
  explicit port_holder(std::uint16_t port = 0);
  /// Closes the socket.
  ~port_holder();
  port_holder(const port_holder&) = delete;
  port_holder& operator=(const port_holder&) = delete;
  /// The port held.
  std::uint16_t port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// True when a listener could bind 127.0.0.1:`port` right now. Uses SO_REUSEADDR like
/// redis-server does, so TIME_WAIT leftovers of closed connections do not count as "taken".
bool port_is_free(std::uint16_t port);

/// A loopback port that was free a moment ago (the kernel's choice for port 0). With
/// `with_cluster_bus`, port + 10000 is free as well (and so port <= 55535). Another process may
/// take it before we do: callers retry on "address in use".
std::uint16_t pick_free_port(bool with_cluster_bus = false);

}  // namespace ferry::testing
