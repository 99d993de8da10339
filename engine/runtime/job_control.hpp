#pragma once
// How the threads of one job learn that it must stop, and why.
//
// Thread: every method is safe from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
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
  void drain() noexcept;

  /// True once a fatal failure was recorded.
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  /// True once a drain was asked for.
  bool draining() const noexcept { return draining_.load(std::memory_order_relaxed); }
  /// True when new work must not start (failed or draining).
  bool stopping() const noexcept { return failed() || draining(); }
  /// The first fatal failure, if any.
  std::optional<protocol::failure> failure() const;

  /// Forgets a failure so the job can run again (a recopy after a target lost data); a drain
  /// is never forgotten.
  void clear_failure();

  /// Waits up to `duration` on the calling thread (never a worker thread: they wait on their
  /// io_context), waking at once when the job starts stopping; false when it is stopping.
  bool wait_for(std::chrono::milliseconds duration) const;

 private:
  std::atomic<bool> failed_{false};
  std::atomic<bool> draining_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable stop_;
  std::optional<protocol::failure> failure_;
};

inline void job_control::fail(protocol::failure failure) {
  {
    std::lock_guard lock(mutex_);
    if (!failure_) failure_ = std::move(failure);
    failed_.store(true, std::memory_order_relaxed);
  }
  stop_.notify_all();
}

inline void job_control::drain() noexcept {
  {
    std::lock_guard lock(mutex_);
    draining_.store(true, std::memory_order_relaxed);
  }
  stop_.notify_all();
}

inline void job_control::clear_failure() {
  std::lock_guard lock(mutex_);
  failure_.reset();
  failed_.store(false, std::memory_order_relaxed);
}

inline std::optional<protocol::failure> job_control::failure() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

inline bool job_control::wait_for(std::chrono::milliseconds duration) const {
  std::unique_lock lock(mutex_);
  return !stop_.wait_for(lock, duration, [this] { return stopping(); });
}

}  // namespace ferry::engine
