#include "cli/common/signals.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace ferry::cli {
namespace {

sigset_t watched(bool usr1) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // private: wakes the watcher when it should stop
  if (usr1) sigaddset(&set, SIGUSR1);
  return set;
}

}  // namespace

signal_watch::signal_watch(std::function<void()> on_first, int exit_code, std::string on_quit,
                           std::function<void()> on_usr1)
    : on_quit_(std::move(on_quit)) {
  sigset_t set = watched(static_cast<bool>(on_usr1));
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread(
      [this, set, exit_code, on_first = std::move(on_first), on_usr1 = std::move(on_usr1)] {
        int seen = 0;
        for (;;) {
          int signal = 0;
          if (sigwait(&set, &signal) != 0) continue;
          if (signal == SIGUSR2) return;
          if (signal == SIGUSR1) {
            on_usr1();
            continue;
          }
          if (++seen == 1) {
            fmt::print(stderr,
                       "\nferry: {} received: finishing the batches in flight, then stopping "
                       "(send it again to quit at once)\n",
                       signal == SIGINT ? "SIGINT" : "SIGTERM");
            on_first();
          } else {
            fmt::print(stderr, "\nferry: second signal: quitting now{}{}\n",
                       on_quit_.empty() ? "" : "; ", on_quit_);
            std::_Exit(exit_code);
          }
        }
      });
}

signal_watch::~signal_watch() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

}  // namespace ferry::cli
