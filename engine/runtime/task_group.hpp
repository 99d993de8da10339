#pragma once
// Runs several coroutines on one executor and waits for all of them.
//
// Thread: the executor's thread.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <exception>
#include <functional>

namespace ferry::engine {

/// See the file comment. A coroutine that throws hands its exception to `on_error`.
class task_group {
 public:
  /// A group whose coroutines run on `executor`; `on_error` gets any escaped exception.
  task_group(boost::asio::any_io_executor executor,
             std::function<void(std::exception_ptr)> on_error)
      : executor_(executor),
        on_error_(std::move(on_error)),
        done_(executor, boost::asio::steady_timer::time_point::max()) {}

  /// Starts `task`.
  void spawn(boost::asio::awaitable<void> task) {
    ++running_;
    boost::asio::co_spawn(executor_, std::move(task), [this](std::exception_ptr error) {
      if (error) on_error_(error);
      if (--running_ == 0) done_.cancel();
    });
  }

  /// Returns when every started coroutine has finished.
  boost::asio::awaitable<void> wait() {
    while (running_ != 0) {
      co_await done_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
  }

 private:
  boost::asio::any_io_executor executor_;
  std::function<void(std::exception_ptr)> on_error_;
  std::size_t running_ = 0;
  boost::asio::steady_timer done_;
};

}  // namespace ferry::engine
