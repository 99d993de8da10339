#include "engine/runtime/worker_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace ferry::engine {

worker_pool::worker_pool(unsigned threads) {
  for (unsigned t = 0; t < std::max(1u, threads); ++t) {
    workers_.push_back(std::make_unique<worker>());
  }
}

worker_pool::~worker_pool() = default;

unsigned worker_pool::threads_for(unsigned wanted, std::size_t units) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned asked = wanted != 0 ? wanted : cores;
  return static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(asked, units)));
}

void worker_pool::run(const thread_body& body,
                      const std::function<void(std::exception_ptr)>& on_error,
                      std::chrono::milliseconds tick_every, const std::function<void()>& tick) {
  std::mutex done_mutex;
  std::condition_variable done;
  std::size_t running = workers_.size();
  std::vector<std::thread> threads;
  threads.reserve(workers_.size());
  for (unsigned t = 0; t < workers_.size(); ++t) {
    threads.emplace_back([&, t] {
      try {
        body(t, workers_[t]->io);
      } catch (...) {
        on_error(std::current_exception());
      }
      std::lock_guard lock(done_mutex);
      --running;
      done.notify_all();
    });
  }
  {
    std::unique_lock lock(done_mutex);
    while (running != 0) {
      if (!tick) {
        done.wait(lock, [&] { return running == 0; });
        break;
      }
      if (done.wait_for(lock, tick_every, [&] { return running == 0; })) break;
      lock.unlock();
      tick();
      lock.lock();
    }
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace ferry::engine
