#include "engine/cluster/link.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::failure;

link::link(asio::any_io_executor executor, protocol::connection_options options, const tuning& tune,
           job_control& control, link_stats* stats)
    : state_(std::make_shared<link_state>(std::move(executor), std::move(options))),
      control_(control),
      backoff_(std::chrono::milliseconds{50}, std::chrono::milliseconds{5'000}, tune.max_retry_time,
               std::random_device{}()),
      stats_(stats) {
  if (auto* registry = link_registry::of_this_thread()) registry->enroll(state_);
}

asio::awaitable<bool> link::pause_before_retry(boost::system::error_code cause) {
  if (control_.failed()) co_return false;
  auto delay = backoff_.next(backoff::clock::now());
  if (!delay) co_return false;
  ++retries_;
  if (stats_ != nullptr) stats_->retried(cause);
  asio::steady_timer timer(co_await asio::this_coro::executor, *delay);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return !control_.failed();
}

asio::awaitable<void> link::wait_for_sweep() {
  // Bounded: a sweep is one AUTH under the connection's deadline.
  while (state_->sweeping) {
    co_await state_->sweep_done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

namespace {

/// Marks a link's connection as in use by its owner for a scope, so the sweeper leaves it alone.
struct in_batch {
  explicit in_batch(link_state& state) : state_(state) { state_.in_batch = true; }
  ~in_batch() { state_.in_batch = false; }
  in_batch(const in_batch&) = delete;
  in_batch& operator=(const in_batch&) = delete;

 private:
  link_state& state_;
};

}  // namespace

asio::awaitable<outcome> link::open() {
  co_await wait_for_sweep();
  const in_batch busy(*state_);
  protocol::connection& conn = state_->connection;
  while (!conn.is_open()) {
    auto ec = co_await conn.connect();
    if (!ec) {
      backoff_.reset();
      if (std::exchange(opened_once_, true) && stats_ != nullptr) stats_->reconnected();
      break;
    }
    if (protocol::disposition_of(ec) != protocol::disposition::retry) {
      co_return failure{ec, conn.last_error()};
    }
    if (!co_await pause_before_retry(ec)) {
      co_return failure{ec, fmt::format("{} (gave up after retrying)", conn.last_error())};
    }
  }
  co_return outcome{};
}

asio::awaitable<boost::system::error_code> link::exec_once(protocol::command_buffer& commands,
                                                           std::vector<protocol::reply>& replies) {
  co_await wait_for_sweep();
  const in_batch busy(*state_);
  protocol::connection& conn = state_->connection;
  // A renewed token (Entra ID): AUTH again on this open connection before the old token
  // expires and the server drops it. Between batches, so no reply is ever in flight.
  if (conn.login_outdated()) {
    replies.clear();
    if (auto ec = co_await conn.reauth()) {
      if (protocol::disposition_of(ec) != protocol::disposition::retry) co_return ec;
      // The server dropped the connection while it sat idle (typically when its old token
      // expired). Nothing of this batch was sent: reconnect with the current token at once.
      if (auto reconnected = co_await conn.connect()) co_return reconnected;
      if (stats_ != nullptr) stats_->reconnected();
    }
  }
  auto ec = co_await conn.exec(commands, replies);
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
      co_return failure{ec, connection().last_error()};
    }
    if (!co_await pause_before_retry(ec)) {
      co_return failure{ec, fmt::format("{} (gave up after retrying)", connection().last_error())};
    }
  }
}

}  // namespace ferry::engine
