#pragma once
// How the threads of one job learn that it must stop, and why.
//
// Thread: every method is safe from any thread.

#include <atomic>
#include <mutex>
#include <optional>

#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// Stop requests and the first fatal failure of a job.
class job_control {
 public:
  /// Records a fatal failure (the first one wins) and asks every stage to stop at once.
  void fail(protocol::failure failure);
  /// Asks the scanners to stop and the rest to finish what is in flight (SIGINT/SIGTERM).
  void drain() noexcept { draining_.store(true, std::memory_order_relaxed); }

  /// True once a fatal failure was recorded.
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  /// True once a drain was asked for.
  bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
  /// True when new work must not start (failed or draining).
  bool stopping() const noexcept { return failed() || draining(); }
  /// The first fatal failure, if any.
  std::optional<protocol::failure> failure() const;

 private:
  std::atomic<bool> failed_{false};
  std::atomic<bool> draining_{false};
  mutable std::mutex mutex_;
  std::optional<protocol::failure> failure_;
};

inline void job_control::fail(protocol::failure failure) {
  std::lock_guard lock(mutex_);
  if (!failure_) failure_ = std::move(failure);
  failed_.store(true, std::memory_order_relaxed);
}

inline std::optional<protocol::failure> job_control::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

}  // namespace ferry::engine
