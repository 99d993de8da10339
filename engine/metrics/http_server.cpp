#include "engine/metrics/http_server.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "engine/metrics/routes.hpp"

namespace ferry::engine::metrics {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Requests are one line and a few headers; nothing larger is read.
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = 1024;

std::string listen_advice(const listen_address& where, const boost::system::error_code& error) {
  if (error == asio::error::address_in_use) {
    return fmt::format(
        "another process listens on port {} (`ss -ltnp 'sport = :{}'` shows which); stop it or "
        "give --metrics another port",
        where.port, where.port);
  }
  if (error == boost::system::errc::address_not_available) {
    return "that address is not one of this machine's; give one of its addresses, 127.0.0.1, or "
           "0.0.0.0 for all";
  }
  if (error == asio::error::access_denied) {
    return "ports below 1024 need privileges; give a port from 1024 up (9121 is ferry's usual)";
  }
  return "give --metrics another address or port";
}

http::response<http::string_body> make_response(const http_answer& a, bool head, unsigned version,
                                                bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(a.status), version};
  res.set(http::field::content_type, a.content_type);
  res.set(http::field::cache_control, "no-store");
  if (!a.allow.empty()) res.set(http::field::allow, a.allow);
  res.keep_alive(keep_alive);
  if (head) {
    res.content_length(a.body.size());
  } else {
    res.body() = a.body;
    res.prepare_payload();
  }
  return res;
}

}  // namespace

metrics_server::metrics_server(const registry& metrics, const health& status,
                               server_options options)
    : metrics_(metrics), status_(status), options_(options) {}

maybe<std::unique_ptr<metrics_server>> metrics_server::start(const listen_address& where,
                                                             const registry& metrics,
                                                             const health& status,
                                                             server_options options) {
  std::unique_ptr<metrics_server> server(new metrics_server(metrics, status, options));
  // Listening happens here, on the caller's thread, so a taken port fails the command at once.
  boost::system::error_code error;
  const tcp::endpoint endpoint(where.address, where.port);
  auto& acceptor = server->acceptor_;
  acceptor.open(endpoint.protocol(), error);
  if (!error) {
    // Restarting ferry must not wait for the last run's connections to leave TIME_WAIT; a port
    // some process listens on is still refused.
    acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  }
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return protocol::failure{
        error, fmt::format("the metrics endpoint cannot listen on {}: {}; {}", where.text(),
                           error.message(), listen_advice(where, error))};
  }
  server->where_ = where;
  server->where_.port = acceptor.local_endpoint().port();
  asio::co_spawn(server->io_, server->accept_connections(), asio::detached);
  server->thread_ = std::thread([s = server.get()] { s->io_.run(); });
  return server;
}

metrics_server::~metrics_server() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
  // The coroutines still suspended are destroyed with io_, closing their sockets.
}

asio::awaitable<void> metrics_server::accept_connections() {
  asio::steady_timer pause(io_);
  for (;;) {
    auto [error, socket] = co_await acceptor_.async_accept(use_tuple);
    if (error == asio::error::operation_aborted) co_return;
    if (error) {
      // Out of file descriptors, most likely: wait a little instead of spinning on the error.
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (connections_ >= options_.max_connections) continue;  // closed as `socket` goes
    asio::co_spawn(io_, serve_connection(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> metrics_server::serve_connection(tcp::socket socket) {
  ++connections_;
  struct leave {
    std::size_t& count;
    ~leave() { --count; }
  } guard{connections_};
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    stream.expires_after(options_.io_timeout);
    auto [read_error, read_bytes] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_error) {
      // A malformed or oversized request gets a 400; a closed or silent client nothing.
      const auto& http_errors = http::make_error_code(http::error::end_of_stream).category();
      if (read_error.category() == http_errors && read_error != http::error::end_of_stream) {
        http_answer bad{400, "text/plain; charset=utf-8", "bad request\n", {}};
        auto res = make_response(bad, false, 11, false);
        stream.expires_after(options_.io_timeout);
        co_await http::async_write(stream, res, use_tuple);
      }
      break;
    }
    const auto& req = parser.get();
    const http_answer a = answer(req.method_string(), req.target(), metrics_, status_);
    auto res = make_response(a, req.method() == http::verb::head, req.version(), req.keep_alive());
    stream.expires_after(options_.io_timeout);
    auto [write_error, written] = co_await http::async_write(stream, res, use_tuple);
    if (write_error || !res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace ferry::engine::metrics
