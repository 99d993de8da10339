#pragma once
// The metrics endpoint: an HTTP/1.1 server (Boost.Beast) on its own thread and io_context that
// serves GET /metrics and GET /healthz (routes.hpp) until it is destroyed.
//
// One coroutine per connection reads a request and writes its answer, one at a time, each with
// a deadline, so a client that connects and says nothing, or stops reading, cannot hold it. It
// serves only what the registry holds: counts, sizes, durations, phases, and shards named by
// host:port; never a URL, a user name, a password or a token.
//
// Thread: start() and the destructor from the owning thread; the registry and health are read
// on the server's thread (both are thread-safe).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <thread>

#include "engine/metrics/health.hpp"
#include "engine/metrics/listen_address.hpp"
#include "engine/metrics/registry.hpp"
#include "engine/runtime/result.hpp"

namespace ferry::engine::metrics {

/// Limits of the server.
struct server_options {
  /// Deadline of each request read and each answer written.
  std::chrono::milliseconds io_timeout{10'000};
  /// Connections served at once; more are closed at once (Prometheus needs one).
  std::size_t max_connections = 16;
};

/// See the file comment.
class metrics_server {
 public:
  /// Listens on `where` and starts serving `metrics` and `status`, which must outlive the
  /// server. Fails, with a message naming the address and what to do, when it cannot listen
  /// there (the port is taken, the address is not this machine's, a port below 1024).
  static maybe<std::unique_ptr<metrics_server>> start(const listen_address& where,
                                                      const registry& metrics, const health& status,
                                                      server_options options = {});

  /// Stops serving: closes the listener and every connection, and joins the thread.
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  /// Where it listens (with the port the system chose when 0 was asked for).
  const listen_address& where() const noexcept { return where_; }

 private:
  metrics_server(const registry& metrics, const health& status, server_options options);
  boost::asio::awaitable<void> accept_connections();
  boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket);

  const registry& metrics_;
  const health& status_;
  server_options options_;
  listen_address where_;
  // Declared before io_: connection coroutines still pending when io_ is destroyed decrement it.
  std::size_t connections_ = 0;
  boost::asio::io_context io_{1};
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::thread thread_;
};

}  // namespace ferry::engine::metrics
