#pragma once
// Waiting inside a coroutine: a plain sleep (a retry's backoff) and a pause that a stopping job
// cuts short (a rate limit may owe many seconds, and a drain must not wait for it).
//
// Thread: the calling coroutine's executor.

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "engine/runtime/job_control.hpp"

namespace ferry::engine {

/// Sleeps `delay` on the coroutine's executor; returns at once when it is not positive.
inline boost::asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration delay) {
  namespace asio = boost::asio;
  if (delay <= std::chrono::steady_clock::duration::zero()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

/// Waits out `delay` (a rate limit), in slices of 100 ms, returning early once `control` says
/// the job is stopping.
inline boost::asio::awaitable<void> pause_for(std::chrono::steady_clock::duration delay,
                                              const job_control& control) {
  const auto until = std::chrono::steady_clock::now() + delay;
  constexpr std::chrono::milliseconds slice{100};
  for (auto now = std::chrono::steady_clock::now(); now < until && !control.stopping();
       now = std::chrono::steady_clock::now()) {
    co_await sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, slice));
  }
}

}  // namespace ferry::engine
