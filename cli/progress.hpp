#pragma once
// Progress while a job runs: a live line on a terminal, a log line every few seconds elsewhere.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/counters.hpp"

namespace ferry::cli {

/// Samples a job's counters on its own thread and prints them to stderr.
class progress_printer {
 public:
  /// Prints what `sample` returns; `live` redraws one line (a terminal), otherwise a line is
  /// logged every `log_every`.
  progress_printer(std::function<engine::counts()> sample, bool live,
                   std::chrono::seconds log_every = std::chrono::seconds{5});
  /// Stops and, for a live line, ends it.
  ~progress_printer();

 private:
  void loop();
  void print(const engine::counts& now, double elapsed_s, double keys_per_s, double bytes_per_s);

  std::function<engine::counts()> sample_;
  bool live_;
  std::chrono::seconds log_every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

/// "1,234,567".
std::string with_commas(std::uint64_t n);

}  // namespace ferry::cli
