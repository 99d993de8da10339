#pragma once
// The worker threads of a job: share nothing, one io_context each. Every part of a job that runs
// on workers (a copy pass, a verify) starts them the same way: build each thread's state on the
// calling thread, start the threads (each spawns its flows on its own io_context and runs it
// until the flows end), and meanwhile let the calling thread do the job's periodic work.
//
// Thread: construct, run and destroy on one thread (the job's); `io(t)` belongs to thread t once
// run() has started it.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

namespace ferry::engine {

/// See the file comment.
class worker_pool {
 public:
  /// What a thread runs: spawn its flows on `io` and run `io` until they end.
  using thread_body = std::function<void(unsigned thread, boost::asio::io_context& io)>;

  /// `threads` io_contexts (at least 1), not yet running.
  explicit worker_pool(unsigned threads);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// Number of threads.
  unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }
  /// Thread `t`'s io_context, for building its state before run().
  boost::asio::io_context& io(unsigned t) { return workers_[t]->io; }

  /// Runs `body` on every thread and returns once all have ended. An exception escaping a body
  /// goes to `on_error` (on that thread). Meanwhile the calling thread calls `tick` every
  /// `tick_every` (never, when `tick` is empty).
  void run(const thread_body& body, const std::function<void(std::exception_ptr)>& on_error,
           std::chrono::milliseconds tick_every = std::chrono::milliseconds{1'000},
           const std::function<void()>& tick = {});

  /// The thread count for a job asking for `wanted` threads (0: one per core) with `units` units
  /// of work (shards, masters): never more threads than units, at least one.
  static unsigned threads_for(unsigned wanted, std::size_t units);

 private:
  struct worker {
    boost::asio::io_context io{1};
  };
  std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace ferry::engine
