#pragma once
// A connection that subscribes (PSUBSCRIBE/SUBSCRIBE) and then reads what the server pushes,
// continuously: the messages, the confirmations and the answers to its own PINGs.
//
// The wanted subscriptions live in a subscription_tracker (protocol/wire/pubsub.hpp), so that a
// caller that reconnects after a break gets exactly the same subscriptions again from
// `connect()`. While `run()` reads, a keepalive PING goes out every `ping_interval`: the server
// answers it after everything it published before reading it, so a connection that stays silent
// for `io_timeout` is dead (a peer gone without a FIN, a frozen server) and `run()` ends with
// `errc::timeout`. `fence(token)` sends `PING token` at once; its pong, seen by the message
// handler, proves that every message the server published before it has been handed over.
//
// Thread: the executor's thread; nothing here is thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <string>

#include "protocol/net/connection.hpp"
#include "protocol/wire/pubsub.hpp"

namespace ferry::protocol {

/// See the file comment.
class subscriber {
 public:
  /// What `connect()` and `run()` hand over: every push read (messages, confirmations, pongs).
  using push_handler = std::function<void(const push&)>;

  /// A closed subscriber of the node of `options`, pinging every `ping_interval` while it runs.
  subscriber(boost::asio::any_io_executor executor, connection_options options,
             std::chrono::milliseconds ping_interval = std::chrono::milliseconds{1'000});

  /// The subscriptions `connect()` makes.
  subscription_tracker& subscriptions() noexcept { return tracker_; }

  /// Connects (TCP/TLS, AUTH, CLIENT SETNAME), subscribes to everything wanted, and returns once
  /// every subscription is confirmed; messages that arrive meanwhile go to `on_push`. A refused
  /// subscription (an ACL without the channel) fails with the server's error class.
  boost::asio::awaitable<boost::system::error_code> connect(const push_handler& on_push);

  /// Reads pushes and hands each to `on_push` until the connection breaks (or `close()`); returns
  /// why it ended. Meanwhile sends the keepalive PINGs and the fences asked for.
  boost::asio::awaitable<boost::system::error_code> run(const push_handler& on_push);

  /// Sends `PING token` as soon as possible (while `run()` runs); its pong comes back with
  /// `token` as payload.
  void fence(std::string token);

  /// Closes the connection; `run()` returns.
  void close() noexcept;
  /// True when the login source has moved on (a renewed token) since this subscriber connected.
  /// RESP2 allows no AUTH on a subscribed connection: the caller subscribes anew.
  bool login_outdated() const noexcept { return connection_.login_outdated(); }
  /// True between a successful `connect()` and a break.
  bool is_open() const noexcept { return connection_.is_open(); }
  /// The node.
  const endpoint& where() const noexcept { return connection_.where(); }
  /// What went wrong last, with the node's address, never a secret.
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  boost::asio::awaitable<boost::system::error_code> read_pushes(const push_handler& on_push);
  boost::asio::awaitable<boost::system::error_code> send_pings();
  boost::system::error_code fail(boost::system::error_code ec, std::string what);

  connection connection_;
  std::chrono::milliseconds ping_interval_;
  subscription_tracker tracker_;
  std::deque<std::string> fences_;  // PING arguments to send (a few at most)
  boost::asio::steady_timer wake_;  // the sender's pause; cancelled by fence() and close()
  command_buffer ping_;
  reply reply_;
  std::string last_error_;
  bool closing_ = false;
};

}  // namespace ferry::protocol
