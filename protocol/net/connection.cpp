#include "protocol/net/connection.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "protocol/net/tls.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::protocol {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 64 * 1024;

/// Folds the many ways a socket can break into ferry's retryable codes.
error_code map_io_error(const error_code& ec) {
  if (ec == beast::error::timeout) return errc::timeout;
  if (ec.category() == asio::error::get_ssl_category() &&
      ec != asio::ssl::error::stream_truncated) {
    return errc::tls_failed;
  }
  return errc::connection_closed;
}

/// A sentence for an X509 verification result, saying what to do about it.
std::string describe_verify_result(long result, const std::string& name) {
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return fmt::format(
          "TLS: the server's certificate does not name host '{}' (hostname mismatch); connect "
          "with a host name the certificate lists, or give the name it holds with "
          "--source-tls-server-name or --target-tls-server-name",
          name);
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return fmt::format(
          "TLS: the server's certificate does not list IP address {} (IP mismatch); connect by a "
          "host name the certificate lists, or give that name with --source-tls-server-name or "
          "--target-tls-server-name",
          name);
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "TLS: the server's certificate has expired; the server must renew it";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "TLS: the server's certificate is not valid yet; check both machines' clocks";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return fmt::format(
          "TLS: the server's certificate is not trusted ({}); give the CA that signed it with "
          "--cacert, or --insecure to skip verification",
          X509_verify_cert_error_string(result));
    default:
      return fmt::format("TLS: certificate verification failed: {}",
                         X509_verify_cert_error_string(result));
  }
}

/// Why a TLS server refused us after (TLS 1.3) or during (TLS 1.2) the handshake, when it is about
/// ferry's client certificate; empty otherwise.
std::string client_certificate_refusal(const SSL* ssl, const error_code& raw) {
  const int reason = raw.category() == asio::error::get_ssl_category()
                         ? ERR_GET_REASON(static_cast<unsigned long>(raw.value()))
                         : 0;
  if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
      asked_for_missing_client_certificate(ssl)) {
    return "TLS: the server requires a client certificate and ferry presented none; give one "
           "with --cert and --key (or --source-cert/--source-key, --target-cert/--target-key)";
  }
  if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA || reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
      reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN) {
    return fmt::format(
        "TLS: the server refused ferry's client certificate ({}); give one signed "
        "by a CA the server trusts",
        raw.message());
  }
  return {};
}

/// True when the first bytes a server sent are an HTTP response or an HTML page.
bool looks_like_http(std::string_view first) {
  return first.starts_with("HTTP/") || first.starts_with("<!") || first.starts_with("<html") ||
         first.starts_with("<HTML") || first.starts_with("<?xml");
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

connection_options at_node(connection_options base, std::string host, std::uint16_t port) {
  base.where.host = std::move(host);
  base.where.port = port;
  return base;
}

connection::connection(asio::any_io_executor executor, connection_options options)
    : executor_(std::move(executor)), options_(std::move(options)), read_buffer_(read_chunk) {}

connection::~connection() { close(); }

beast::tcp_stream& connection::tcp() noexcept {
  return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
}

void connection::close() noexcept {
  open_ = false;
  // Only the socket is closed: an operation still pending on the stream completes with an error
  // and the stream objects are replaced by the next connect().
  error_code ignored;
  if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
  if (plain_) plain_->socket().close(ignored);
}

error_code connection::fail(error_code ec, std::string what) {
  close();
  last_error_ = fmt::format("{}: {}", options_.where.address(), what);
  return ec;
}

asio::awaitable<error_code> connection::connect() {
  close();
  tls_.reset();
  plain_.reset();
  reader_ = std::make_unique<resp_reader>(options_.limits);
  reader_->keep_bulks(keeping_);
  raw_error_.clear();
  first_bytes_.clear();
  // No credentials (an unreadable or expired token): fail before touching the network.
  if (options_.login) {
    if (auto state = options_.login->current(); !state) {
      co_return fail(errc::auth_failed, state.error());
    }
  }
  if (auto ec = co_await open_socket()) co_return ec;
  if (tls_) {
    if (auto ec = co_await handshake_tls()) co_return ec;
  }
  open_ = true;
  if (auto ec = co_await login()) co_return ec;
  co_return error_code{};
}

asio::awaitable<error_code> connection::open_socket() {
  using namespace asio::experimental::awaitable_operators;
  const endpoint& where = options_.where;
  std::vector<tcp::endpoint> targets;
  error_code ec;
  auto address = asio::ip::make_address(where.host, ec);
  if (!ec) {
    targets.emplace_back(address, where.port);
  } else {
    tcp::resolver resolver(executor_);
    asio::steady_timer deadline(executor_, options_.connect_timeout);
    auto outcome =
        co_await (resolver.async_resolve(where.host, std::to_string(where.port), use_tuple) ||
                  deadline.async_wait(use_tuple));
    if (outcome.index() == 1) {
      co_return fail(errc::timeout, fmt::format("resolving '{}' took longer than {} ms", where.host,
                                                options_.connect_timeout.count()));
    }
    auto [resolve_ec, results] = std::get<0>(outcome);
    if (resolve_ec) {
      co_return fail(errc::resolve_failed,
                     fmt::format("cannot resolve host '{}': {}", where.host, resolve_ec.message()));
    }
    for (const auto& entry : results) targets.push_back(entry.endpoint());
  }

  beast::tcp_stream stream(executor_);
  stream.expires_after(options_.connect_timeout);
  auto [connect_ec, connected] = co_await stream.async_connect(targets, use_tuple);
  if (connect_ec == beast::error::timeout) {
    co_return fail(errc::timeout,
                   fmt::format("no TCP connection within {} ms: nothing answered at that address "
                               "(a firewall or network security group dropping the packets, a "
                               "private endpoint or VNet this machine cannot reach, or a wrong "
                               "host)",
                               options_.connect_timeout.count()));
  }
  if (connect_ec) {
    co_return fail(
        errc::connect_failed,
        fmt::format("cannot connect: {}{}", connect_ec.message(),
                    connect_ec == asio::error::connection_refused
                        ? " (nothing listens on that port: check the host and the port "
                          "— Azure Managed Redis listens on 10000, Azure Cache for Redis "
                          "on 6380 with TLS — and that the server runs)"
                        : ""));
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (where.tls) {
    if (!options_.tls) co_return fail(errc::tls_failed, "no TLS context for a rediss:// URL");
    tls_.emplace(std::move(stream), *options_.tls);
  } else {
    plain_.emplace(std::move(stream));
  }
  co_return error_code{};
}

asio::awaitable<error_code> connection::handshake_tls() {
  SSL* ssl = tls_->native_handle();
  const std::string& name =
      options_.server_name.empty() ? options_.where.host : options_.server_name;
  const bool ip = is_ip_address(name);
  // SNI carries host names only (RFC 6066).
  if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (options_.verify_host) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
    }
  }
  tcp().expires_after(options_.connect_timeout);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (!ec) co_return error_code{};
  if (ec == beast::error::timeout) {
    // A plain-text Redis reads the ClientHello as the start of an inline command and waits
    // for the rest of the line.
    co_return fail(errc::timeout,
                   fmt::format("TLS: the server did not answer with TLS (no handshake within {} "
                               "ms); it is probably a plain-text server: use redis:// instead of "
                               "rediss://, or check the port",
                               options_.connect_timeout.count()));
  }
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) co_return fail(errc::tls_failed, describe_verify_result(verify, name));
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER) {
    co_return fail(errc::tls_failed,
                   "TLS: the server did not answer with TLS (it sent something else: wrong "
                   "version number); for a plain-text server use redis:// instead of rediss://");
  }
  if (auto refusal = client_certificate_refusal(ssl, ec); !refusal.empty()) {
    co_return fail(errc::tls_failed, std::move(refusal));
  }
  co_return fail(errc::tls_failed, fmt::format("TLS handshake failed: {}", ec.message()));
}

boost::system::result<login_state, std::string> connection::credentials_now() const {
  if (options_.login) return options_.login->current();
  login_state state;
  state.login = {options_.where.user, options_.where.password};
  state.origin = "password in the URL";
  return state;
}

void connection::push_auth(command_buffer& commands, const credentials& login) const {
  if (login.user.empty()) {
    commands.push({"AUTH", login.password});
  } else {
    commands.push({"AUTH", login.user, login.password});
  }
}

asio::awaitable<error_code> connection::login() {
  auto state = credentials_now();
  if (!state) co_return fail(errc::auth_failed, state.error());
  const credentials& login = state->login;
  command_buffer commands;
  std::size_t auth_index = 0, select_index = 0;
  if (!login.password.empty()) {
    push_auth(commands, login);
    auth_index = commands.commands();
  }
  if (options_.select_db && options_.where.db != 0) {
    commands.begin(2);
    commands.arg("SELECT");
    commands.arg(std::int64_t{options_.where.db});
    select_index = commands.commands();
  }
  // A refused READONLY is harmless: reads on a replica are then redirected, and followed.
  if (options_.readonly) commands.push({"READONLY"});
  // PING proves the server speaks RESP to us and that no password is missing (NOAUTH).
  commands.push({"PING"});
  const std::size_t ping_index = commands.commands();
  if (!options_.client_name.empty()) commands.push({"CLIENT", "SETNAME", options_.client_name});

  std::vector<reply> replies;
  if (auto ec = co_await exec(commands, replies)) {
    if (tls_ && replies.empty()) {
      // With TLS 1.3 a server judges the client certificate after the handshake, so its
      // refusal shows on the first read or write.
      if (auto refusal = client_certificate_refusal(tls_->native_handle(), raw_error_);
          !refusal.empty()) {
        co_return fail(errc::tls_failed, std::move(refusal));
      }
    }
    if (replies.empty() && ec == errc::protocol_violation && looks_like_http(first_bytes_)) {
      // An HTTP server (a web console, a health endpoint) at the Redis port answers our first
      // command with "HTTP/1.1 400 Bad Request" or an HTML page.
      last_error_ = fmt::format(
          "{}: the server answered with HTTP, not the Redis protocol: this is a web server, not "
          "Redis; check the port (Azure Managed Redis listens on 10000, Azure Cache for Redis on "
          "6380 with TLS, self-hosted Redis usually on 6379)",
          options_.where.address());
      co_return ec;
    }
    if (!options_.where.tls && replies.empty() &&
        (ec == errc::connection_closed || ec == errc::protocol_violation)) {
      // A TLS server reads our plain-text AUTH as a broken TLS record and hangs up without a
      // word (or, with some proxies, answers with a TLS alert that is not RESP).
      last_error_ = fmt::format(
          "{}: the server closed the connection at the first plain-text command without an "
          "answer: it most likely expects TLS; use rediss:// instead of redis://",
          options_.where.address());
    }
    co_return ec;
  }
  const std::string who = login.user.empty() ? "" : fmt::format(" as user '{}'", login.user);
  if (auth_index != 0 && replies[auth_index - 1].is_error()) {
    co_return fail(errc::auth_failed,
                   fmt::format("authentication refused{} ({}): {}; check the user name and the "
                               "password (or token)",
                               who, state->origin, replies[auth_index - 1].text()));
  }
  if (select_index != 0 && replies[select_index - 1].is_error()) {
    co_return fail(classify_error_reply(replies[select_index - 1].text()),
                   fmt::format("SELECT {} refused: {}; clusters and Azure Managed Redis have only "
                               "database 0",
                               options_.where.db, replies[select_index - 1].text()));
  }
  const reply& pong = replies[ping_index - 1];
  if (pong.is_error()) {
    const errc kind = classify_error_reply(pong.text());
    co_return fail(kind, kind == errc::auth_failed
                             ? fmt::format("the server requires authentication{}: {}; give a "
                                           "password in the URL, an environment variable or a "
                                           "file",
                                           who, pong.text())
                             : fmt::format("PING failed: {}", pong.text()));
  }
  auth_generation_ = state->generation;
  // CLIENT SETNAME is a courtesy; proxies may refuse it.
  co_return error_code{};
}

asio::awaitable<error_code> connection::reauth() {
  auto state = credentials_now();
  if (!state) co_return fail(errc::auth_failed, state.error());
  command_buffer commands;
  push_auth(commands, state->login);
  std::vector<reply> replies;
  if (auto ec = co_await exec(commands, replies)) co_return ec;
  if (replies[0].is_error()) {
    co_return fail(
        errc::auth_failed,
        fmt::format("authentication with renewed credentials refused{} ({}): {}",
                    state->login.user.empty() ? std::string()
                                              : fmt::format(" for user '{}'", state->login.user),
                    state->origin, replies[0].text()));
  }
  auth_generation_ = state->generation;
  ++reauths_;
  co_return error_code{};
}

asio::awaitable<error_code> connection::exec(command_buffer& commands,
                                             std::vector<reply>& replies) {
  replies.clear();
  if (!open_) co_return fail(errc::connection_closed, "not connected");
  if (commands.empty()) co_return error_code{};
  reader_->keep_bulks(keeping_);  // each batch counts its kept bytes afresh
  if (auto ec = co_await write_all(commands)) {
    if (ec == errc::connection_closed) {
      // The server may have answered part of the batch before it closed: Redis closes right
      // after an "ERR Protocol error" (such as a bulk over proto-max-bulk-len), and our write
      // then fails on the reset. Those replies are still in the socket's receive queue; reading
      // them tells the caller which commands surely ran and why the connection ended, instead
      // of leaving the whole batch in doubt. The peer is gone, so this read ends at once.
      const std::string write_error = last_error_;
      co_await read_replies(commands.commands(), replies);
      last_error_ = write_error;
    }
    close();
    co_return ec;
  }
  co_return co_await read_replies(commands.commands(), replies);
}

asio::awaitable<error_code> connection::send(command_buffer& commands) {
  if (!open_) co_return fail(errc::connection_closed, "not connected");
  if (commands.empty()) co_return error_code{};
  if (auto ec = co_await write_all(commands)) {
    close();
    co_return ec;
  }
  co_return error_code{};
}

asio::awaitable<error_code> connection::receive(reply& out) {
  if (!open_) co_return fail(errc::connection_closed, "not connected");
  received_.clear();
  if (auto ec = co_await read_replies(1, received_)) co_return ec;
  out = std::move(received_.front());
  co_return error_code{};
}
void connection::keep_bulks(bulk_keeping keeping) noexcept {
  keeping_ = keeping;
  if (reader_) reader_->keep_bulks(keeping);
}

std::size_t connection::kept_bytes() const noexcept { return reader_ ? reader_->kept_bytes() : 0; }

asio::awaitable<error_code> connection::write_all(command_buffer& commands) {
  gather_.clear();
  for (std::string_view segment : commands.segments()) {
    gather_.emplace_back(segment.data(), segment.size());
  }
  tcp().expires_after(options_.io_timeout);
  error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, gather_, use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(*plain_, gather_, use_tuple);
  }
  if (ec) {
    raw_error_ = ec;
    // Not closed here: exec() may still read the replies the server sent before it broke.
    last_error_ = fmt::format("{}: {}", options_.where.address(),
                              ec == beast::error::timeout
                                  ? fmt::format("writing {} commands took longer than {} ms",
                                                commands.commands(), options_.io_timeout.count())
                                  : fmt::format("write failed: {}", ec.message()));
    co_return map_io_error(ec);
  }
  co_return error_code{};
}

asio::awaitable<error_code> connection::read_replies(std::size_t count,
                                                     std::vector<reply>& replies) {
  replies.reserve(count);
  while (replies.size() < count) {
    auto next = reader_->next();
    if (next.has_error()) co_return fail(next.error(), reader_->error_message());
    if (next->has_value()) {
      replies.push_back(std::move(**next));
      continue;
    }
    tcp().expires_after(options_.io_timeout);
    error_code ec;
    std::size_t n = 0;
    auto buffer = asio::buffer(read_buffer_);
    if (tls_) {
      std::tie(ec, n) = co_await tls_->async_read_some(buffer, use_tuple);
    } else {
      std::tie(ec, n) = co_await plain_->async_read_some(buffer, use_tuple);
    }
    if (ec) {
      raw_error_ = ec;
      co_return fail(map_io_error(ec),
                     ec == beast::error::timeout
                         ? fmt::format("no reply within {} ms ({} of {} replies read)",
                                       options_.io_timeout.count(), replies.size(), count)
                         : fmt::format("connection lost after {} of {} replies: {}", replies.size(),
                                       count, ec.message()));
    }
    if (first_bytes_.size() < first_bytes_kept) {
      first_bytes_.append(read_buffer_.data(), std::min(n, first_bytes_kept - first_bytes_.size()));
    }
    reader_->feed({read_buffer_.data(), n});
  }
  co_return error_code{};
}

}  // namespace ferry::protocol
