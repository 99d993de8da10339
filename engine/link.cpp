#include "engine/link.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "protocol/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::failure;

link::link(asio::any_io_executor executor, protocol::connection_options options, const tuning& tune,
           job_control& control)
    : connection_(std::move(executor), std::move(options)),
      control_(control),
      backoff_(std::chrono::milliseconds{50}, std::chrono::milliseconds{5'000}, tune.max_retry_time,
               std::random_device{}()) {}

asio::awaitable<bool> link::pause_before_retry() {
  if (control_.failed()) co_return false;
  auto delay = backoff_.next(backoff::clock::now());
  if (!delay) co_return false;
  ++retries_;
  asio::steady_timer timer(co_await asio::this_coro::executor, *delay);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !control_.failed();
}

asio::awaitable<outcome> link::open() {
  while (!connection_.is_open()) {
    auto ec = co_await connection_.connect();
    if (!ec) {
      backoff_.reset();
      break;
    }
    if (protocol::disposition_of(ec) != protocol::disposition::retry) {
      co_return failure{ec, connection_.last_error()};
    }
    if (!co_await pause_before_retry()) {
      co_return failure{ec, fmt::format("{} (gave up after retrying)", connection_.last_error())};
    }
  }
  co_return outcome{};
}

asio::awaitable<boost::system::error_code> link::exec_once(protocol::command_buffer& commands,
                                                           std::vector<protocol::reply>& replies) {
  // A renewed token (Entra ID): AUTH again on this open connection before the old token
  // expires and the server drops it. Between batches, so no reply is ever in flight.
  if (connection_.login_outdated()) {
    replies.clear();
    if (auto ec = co_await connection_.reauth()) {
      if (protocol::disposition_of(ec) != protocol::disposition::retry) co_return ec;
      // The server dropped the connection while it sat idle (typically when its old token
      // expired). Nothing of this batch was sent: reconnect with the current token at once.
      if (auto reconnected = co_await connection_.connect()) co_return reconnected;
    }
  }
  auto ec = co_await connection_.exec(commands, replies);
  if (!ec) backoff_.reset();
  co_return ec;
}

asio::awaitable<outcome> link::exec(protocol::command_buffer& commands,
                                    std::vector<protocol::reply>& replies) {
  for (;;) {
    if (auto opened = co_await open(); !opened) co_return opened;
    auto ec = co_await exec_once(commands, replies);
    if (!ec) co_return outcome{};
    if (protocol::disposition_of(ec) != protocol::disposition::retry) {
      co_return failure{ec, connection_.last_error()};
    }
    if (!co_await pause_before_retry()) {
      co_return failure{ec, fmt::format("{} (gave up after retrying)", connection_.last_error())};
    }
  }
}

}  // namespace ferry::engine
