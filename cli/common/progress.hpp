#pragma once
// Progress while a job runs: a live line on a terminal, a log line every few seconds elsewhere.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/copy/counters.hpp"
#include "engine/runtime/number_text.hpp"

namespace ferry::cli {

/// What a progress line shows, whatever the job.
struct progress_sample {
  /// Keys settled so far.
  std::uint64_t done = 0;
  /// Keys expected in all (0 when unknown).
  std::uint64_t estimated = 0;
  /// Payload bytes moved so far, for jobs that move any.
  std::optional<std::uint64_t> bytes;
  /// What the job counts as trouble ("failed", "differences").
  std::string trouble_label = "failed";
  /// How many of them.
  std::uint64_t trouble = 0;
  /// More for the end of the line (ferry sync: phase, events, dirty keys, lag); empty for none.
  std::string extra;
};

/// Samples a job's counters on its own thread and prints them to stderr.
class progress_printer {
 public:
  /// Prints what `sample` returns; `live` redraws one line (a terminal), otherwise a line is
  /// logged every `log_every`.
  progress_printer(std::function<progress_sample()> sample, bool live,
                   std::chrono::seconds log_every = std::chrono::seconds{5});
  /// The same for a copy job's counters.
  progress_printer(std::function<engine::counts()> sample, bool live,
                   std::chrono::seconds log_every = std::chrono::seconds{5});
  /// Stops and, for a live line, ends it.
  ~progress_printer();

 private:
  void loop();
  void print(const progress_sample& now, double elapsed_s, double keys_per_s, double bytes_per_s);

  std::function<progress_sample()> sample_;
  bool live_;
  std::chrono::seconds log_every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

using engine::with_commas;

}  // namespace ferry::cli
