#pragma once
// SIGINT/SIGTERM: the first asks the job to drain, the second exits at once. SIGUSR1, where a
// command asks for it: a request of its own (`ferry sync` cuts over).
//
// Construct before any other thread starts: the signals are blocked in every thread and taken
// by a dedicated one with sigwait, so no handler runs in the middle of the engine's work.

#include <functional>
#include <string>
#include <thread>

namespace ferry::cli {

/// See the file comment.
class signal_watch {
 public:
  /// Calls `on_first` (from the watcher thread) on the first SIGINT or SIGTERM; the second one
  /// ends the process with `exit_code` at once, after printing `on_quit` (what becomes of the
  /// job: e.g. how to resume it) when given. With `on_usr1`, SIGUSR1 calls it (each time;
  /// `ferry sync`: cut over now).
  signal_watch(std::function<void()> on_first, int exit_code, std::string on_quit = {},
               std::function<void()> on_usr1 = {});
  /// Stops watching.
  ~signal_watch();

 private:
  std::string on_quit_;  // read by the watcher thread, which is joined before it goes
  std::thread thread_;
};

}  // namespace ferry::cli
