#pragma once
// An asynchronous budget of bytes: the memory bound of one worker thread's pipelines.
//
// Readers acquire the size of each record batch before handing it on; writers release it once the
// batch is written. When the budget is spent, readers wait, SCAN stops being pulled, and the
// back-pressure reaches the source. A single item larger than the whole budget is let through
// alone, so one huge key cannot stall the job.
//
// Thread: one worker thread (its io_context); not thread-safe.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>

namespace ferry::engine {

/// See the file comment.
class byte_budget {
 public:
  /// A budget of `capacity` bytes whose waiters run on `executor`.
  byte_budget(boost::asio::any_io_executor executor, std::size_t capacity);

  /// Waits until `bytes` fit (or nothing else is held), then takes them.
  boost::asio::awaitable<void> acquire(std::size_t bytes);
  /// Gives `bytes` back and wakes the waiters.
  void release(std::size_t bytes) noexcept;

  /// Bytes currently taken.
  std::size_t in_use() const noexcept { return used_; }
  /// The most bytes ever taken at once.
  std::size_t peak() const noexcept { return peak_; }
  /// The configured capacity.
  std::size_t capacity() const noexcept { return capacity_; }
  /// Also adds what is taken to `total`, and subtracts what is given back (one atomic shared by
  /// every worker thread's budget, read by the metrics endpoint); null to stop. Set it before
  /// anything is taken.
  void share_with(std::atomic<std::size_t>* total) noexcept { shared_ = total; }

 private:
  std::size_t capacity_;
  std::size_t used_ = 0;
  std::size_t peak_ = 0;
  std::atomic<std::size_t>* shared_ = nullptr;
  // Never expires; release() cancels the waits, and each waiter checks again.
  boost::asio::steady_timer wake_;
};

}  // namespace ferry::engine
