#pragma once
// One connection to one Redis node: TCP or TLS, AUTH and SELECT, pipelined batches.
//
// A connection runs one batch at a time: it writes every command of a `command_buffer` with a
// gather write (referenced payloads are not copied), then reads exactly as many replies. Callers
// get concurrency from several connections, not from interleaving batches on one. Every network
// operation has a deadline: a read or write that makes no progress for `io_timeout` closes the
// connection and fails the batch with `errc::timeout`.
//
// Thread: a connection belongs to the thread running its executor; nothing here is thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/wire/command.hpp"
#include "protocol/wire/endpoint.hpp"
#include "protocol/wire/login_source.hpp"
#include "protocol/wire/reply.hpp"
#include "protocol/wire/resp_reader.hpp"

namespace ferry::protocol {

/// Everything a connection needs to know before it connects.
struct connection_options {
  /// The node. Its user/password are used unless `login` is set.
  endpoint where;
  /// Context for rediss:// endpoints (see make_tls_context); ignored for redis://.
  std::shared_ptr<boost::asio::ssl::context> tls;
  /// Name for SNI and certificate verification; defaults to `where.host`.
  std::string server_name;
  /// Verify the certificate's host name or IP (off only with --insecure).
  bool verify_host = true;
  /// Credentials that override the URL's (from a file, an environment variable, or an Entra ID
  /// token that is renewed while the connection is open); null to use the URL's.
  std::shared_ptr<const login_source> login;
  /// Deadline for resolving, connecting and the TLS handshake.
  std::chrono::milliseconds connect_timeout{10'000};
  /// Deadline for each read or write that makes no progress.
  std::chrono::milliseconds io_timeout{30'000};
  /// Bounds on replies.
  reader_limits limits;
  /// Send SELECT when `where.db` is not 0.
  bool select_db = true;
  /// Send READONLY, so a cluster replica serves reads (a failed-over master, --read-from
  /// replicas) instead of redirecting them.
  bool readonly = false;
  /// CLIENT SETNAME value, so operators can see ferry in CLIENT LIST; empty to skip.
  std::string client_name = "ferry";
};

/// `base` aimed at another node of the same side (a cluster master, a replica, a node named by a
/// redirect): the same TLS, credentials, database and timeouts, another host and port.
connection_options at_node(connection_options base, std::string host, std::uint16_t port);

/// A single Redis connection (see the file comment).
class connection {
 public:
  /// A closed connection to `options.where`, living on `executor`.
  connection(boost::asio::any_io_executor executor, connection_options options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Resolves, connects, does the TLS handshake, AUTH, SELECT and CLIENT SETNAME. On failure the
  /// connection stays closed and `last_error()` explains.
  boost::asio::awaitable<boost::system::error_code> connect();

  /// Writes every command in `commands` and reads one reply per command into `replies` (cleared
  /// first). Error replies are replies, not failures; a failure means the connection broke, and
  /// it is then closed. After a break, `replies` holds the replies read before it (also when the
  /// write failed because the server answered part of the batch and hung up).
  boost::asio::awaitable<boost::system::error_code> exec(command_buffer& commands,
                                                         std::vector<reply>& replies);

  /// Writes `commands` without reading their replies: for a subscribed connection, whose answers
  /// (confirmations, pongs) arrive among its messages and are read with `receive()`. A failure
  /// closes the connection. One send at a time; it may run while a `receive()` waits.
  boost::asio::awaitable<boost::system::error_code> send(command_buffer& commands);
  /// Reads the next reply into `out`, waiting at most `io_timeout` for bytes (a subscribed
  /// connection's messages, one at a time). A failure closes the connection. One receive at a
  /// time; it may run while a `send()` writes.
  boost::asio::awaitable<boost::system::error_code> receive(reply& out);
  /// Which bulk strings the replies of later batches keep (see resp_reader): a reader that must
  /// not hold a huge value learns its length instead. Each batch counts its kept bytes afresh.
  void keep_bulks(bulk_keeping keeping) noexcept;
  /// Bytes of bulk strings the last batch kept.
  std::size_t kept_bytes() const noexcept;

  /// True when the login source has moved on (a renewed token) since this connection
  /// authenticated: `reauth()` should run before the next batch.
  bool login_outdated() const noexcept {
    return open_ && options_.login && options_.login->generation() != auth_generation_;
  }
  /// Sends AUTH with the login source's current credentials on the open connection (token
  /// renewal). A refusal closes the connection and fails with `errc::auth_failed`.
  boost::asio::awaitable<boost::system::error_code> reauth();
  /// How many times `reauth()` succeeded on this connection object.
  std::uint64_t reauths() const noexcept { return reauths_; }

  /// Closes the socket; a later `connect()` opens it again.
  void close() noexcept;
  /// True between a successful connect and a failure or close.
  bool is_open() const noexcept { return open_; }
  /// The node this connection talks to.
  const endpoint& where() const noexcept { return options_.where; }
  /// The options it was made with.
  const connection_options& options() const noexcept { return options_; }
  /// What went wrong last, with the node's address, never a secret.
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  boost::asio::awaitable<boost::system::error_code> open_socket();
  boost::asio::awaitable<boost::system::error_code> handshake_tls();
  boost::asio::awaitable<boost::system::error_code> login();
  boost::system::result<login_state, std::string> credentials_now() const;
  void push_auth(command_buffer& commands, const credentials& login) const;
  boost::asio::awaitable<boost::system::error_code> write_all(command_buffer& commands);
  boost::asio::awaitable<boost::system::error_code> read_replies(std::size_t count,
                                                                 std::vector<reply>& replies);
  boost::system::error_code fail(boost::system::error_code ec, std::string what);
  boost::beast::tcp_stream& tcp() noexcept;

  boost::asio::any_io_executor executor_;
  connection_options options_;
  std::optional<boost::beast::tcp_stream> plain_;
  std::optional<tls_stream> tls_;
  std::unique_ptr<resp_reader> reader_;
  bulk_keeping keeping_;
  std::vector<char> read_buffer_;
  std::vector<boost::asio::const_buffer> gather_;
  std::vector<reply> received_;  // receive()'s one reply
  std::string last_error_;
  /// The socket's own error behind the last failed read or write.
  boost::system::error_code raw_error_;
  /// The first bytes the server sent since connect(), to recognise a server that is not Redis.
  std::string first_bytes_;
  static constexpr std::size_t first_bytes_kept = 16;
  std::uint64_t auth_generation_ = 0;
  std::uint64_t reauths_ = 0;
  bool open_ = false;
};

}  // namespace ferry::protocol
