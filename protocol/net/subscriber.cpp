#include "protocol/net/subscriber.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/wire/errors.hpp"

namespace ferry::protocol {

namespace asio = boost::asio;
using boost::system::error_code;

subscriber::subscriber(asio::any_io_executor executor, connection_options options,
                       std::chrono::milliseconds ping_interval)
    : connection_(executor, std::move(options)),
      ping_interval_(std::max(ping_interval, std::chrono::milliseconds{10})),
      wake_(executor, asio::steady_timer::time_point::max()) {}

error_code subscriber::fail(error_code ec, std::string what) {
  connection_.close();
  last_error_ = fmt::format("{}: {}", connection_.where().address(), what);
  return ec;
}

asio::awaitable<error_code> subscriber::connect(const push_handler& on_push) {
  closing_ = false;
  fences_.clear();
  if (auto ec = co_await connection_.connect()) {
    last_error_ = connection_.last_error();
    co_return ec;
  }
  command_buffer subscribe;
  tracker_.compose(subscribe);
  if (auto ec = co_await connection_.send(subscribe)) {
    last_error_ = connection_.last_error();
    co_return ec;
  }
  // Bounded: each reply is read under the connection's deadline, and the server confirms each
  // subscription once; messages for confirmed ones may come in between.
  while (!tracker_.complete()) {
    if (auto ec = co_await connection_.receive(reply_)) {
      last_error_ = connection_.last_error();
      co_return ec;
    }
    if (reply_.is_error()) {
      const errc kind = classify_error_reply(reply_.text());
      co_return fail(kind, fmt::format("subscribing to keyspace events was refused: {}{}",
                                       reply_.text(), refusal_advice(kind, reply_.text())));
    }
    const auto p = parse_push(reply_);
    if (!p) {
      co_return fail(errc::protocol_violation,
                     "the server answered a subscription with something that is not a pub/sub "
                     "reply (a proxy that does not support SUBSCRIBE?)");
    }
    tracker_.on_push(*p);
    on_push(*p);
  }
  co_return error_code{};
}

asio::awaitable<error_code> subscriber::run(const push_handler& on_push) {
  using namespace asio::experimental::awaitable_operators;
  if (!connection_.is_open()) co_return fail(errc::connection_closed, "not connected");
  auto ended = co_await (read_pushes(on_push) || send_pings());
  connection_.close();
  co_return std::visit([](const error_code& ec) { return ec; }, ended);
}

asio::awaitable<error_code> subscriber::read_pushes(const push_handler& on_push) {
  for (;;) {
    if (auto ec = co_await connection_.receive(reply_)) {
      if (closing_) co_return ec;
      last_error_ =
          ec == errc::timeout
              ? fmt::format(
                    "{}: the subscribed connection stayed silent for {} ms "
                    "although ferry sent PINGs",
                    connection_.where().address(), connection_.options().io_timeout.count())
              : connection_.last_error();
      co_return ec;
    }
    if (reply_.is_error()) {
      // Redis answers a command it refuses in subscribed mode with an error and goes on; the
      // only commands ferry sends there are PINGs, so this is a server that is not Redis.
      co_return fail(errc::protocol_violation,
                     fmt::format("error on the subscribed connection: {}", reply_.text()));
    }
    const auto p = parse_push(reply_);
    if (!p) {
      co_return fail(errc::protocol_violation,
                     "the server sent something that is not a pub/sub reply on a subscribed "
                     "connection");
    }
    tracker_.on_push(*p);
    on_push(*p);
  }
}

asio::awaitable<error_code> subscriber::send_pings() {
  auto next_ping = asio::steady_timer::clock_type::now() + ping_interval_;
  for (;;) {
    if (fences_.empty()) {
      wake_.expires_at(next_ping);
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (closing_ || !connection_.is_open()) co_return make_error_code(errc::connection_closed);
    const auto now = asio::steady_timer::clock_type::now();
    ping_.clear();
    while (!fences_.empty()) {
      ping_.push({"PING", fences_.front()});
      fences_.pop_front();
    }
    if (now >= next_ping) {
      ping_.push({"PING"});
      next_ping = now + ping_interval_;
    }
    if (ping_.empty()) continue;
    if (auto ec = co_await connection_.send(ping_)) {
      if (!closing_) last_error_ = connection_.last_error();
      co_return ec;
    }
  }
}

void subscriber::fence(std::string token) {
  fences_.push_back(std::move(token));
  wake_.cancel();
}

void subscriber::close() noexcept {
  closing_ = true;
  connection_.close();
  wake_.cancel();
}

}  // namespace ferry::protocol
