#pragma once
// SIGINT/SIGTERM: the first asks the job to drain, the second exits at once.
//
// Construct before any other thread starts: the signals are blocked in every thread and taken
// by a dedicated one with sigwait, so no handler runs in the middle of the engine's work.

#include <functional>
#include <thread>

namespace ferry::cli {

/// See the file comment.
class signal_watch {
 public:
  /// Calls `on_first` (from the watcher thread) on the first SIGINT or SIGTERM; the second one
  /// ends the process with `exit_code` at once.
  signal_watch(std::function<void()> on_first, int exit_code);
  /// Stops watching.
  ~signal_watch();

 private:
  std::thread thread_;
};

}  // namespace ferry::cli
