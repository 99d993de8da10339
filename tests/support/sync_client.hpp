#pragma once
// A small blocking Redis client for test setup and oracles. It deliberately shares no code with
// ferry's protocol/ layer: a socket, OpenSSL for TLS, hiredis's formatter and reader. A bug in
// ferry's RESP or TLS code therefore cannot hide itself in the tests that judge it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/reply.hpp"

namespace ferry::testing {

/// Raised for connection, TLS, timeout and AUTH failures (never for error *replies*).
class client_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// TLS settings of a client connection.
struct tls_client_options {
  /// CA bundle used to verify the server; required when `verify` is true.
  std::filesystem::path ca_file;
  /// Optional client certificate (for --tls-auth-clients yes servers).
  std::filesystem::path cert_file;
  /// Key of `cert_file`.
  std::filesystem::path key_file;
  /// Sent as SNI and checked against the certificate; an IP literal is checked as an IP SAN.
  std::string server_name = "localhost";
  /// Verify chain and name. Only the harness's own liveness probes turn this off.
  bool verify = true;
};

/// Where and how to connect.
struct client_options {
  /// Numeric address or host name of the server.
  std::string host = "127.0.0.1";
  /// TCP port.
  std::uint16_t port = 0;
  /// TLS settings; plain TCP when empty.
  std::optional<tls_client_options> tls;
  /// ACL user for AUTH (empty: the default user).
  std::string user;
  /// Password; AUTH is sent after connecting when non-empty.
  std::string password;
  /// Bound on connect, handshake and every read or write.
  std::chrono::milliseconds timeout{5000};
};

class sync_client;

/// Something that runs key-addressed commands: one server, or a cluster routing by slot.
/// The dataset writer and the keyspace oracle accept either.
class key_router {
 public:
  virtual ~key_router() = default;
  /// Runs commands whose key is found by `command_key`; replies come back in order.
  virtual std::vector<reply> pipeline_keyed(const std::vector<std::vector<std::string>>& cmds) = 0;
  /// One connection per shard (every master of a cluster) for SCAN and per-node commands.
  virtual std::vector<sync_client*> shard_clients() = 0;
};

/// One blocking connection. Not thread-safe; cheap enough to create one per thread.
class sync_client : public key_router {
 public:
  /// Connects, completes the TLS handshake and AUTH; throws `client_error` on failure.
  explicit sync_client(client_options options);
  /// Closes the connection.
  ~sync_client() override;
  /// Moves the connection; the source is left unusable.
  sync_client(sync_client&&) noexcept;
  /// Move assignment closes the current connection first.
  sync_client& operator=(sync_client&&) noexcept;
  sync_client(const sync_client&) = delete;
  sync_client& operator=(const sync_client&) = delete;

  /// Sends one command and returns its reply (error replies are returned, not thrown).
  reply command(const std::vector<std::string>& argv);
  /// Like `command` but throws `std::runtime_error` naming the command on an error reply.
  reply checked(const std::vector<std::string>& argv);
  /// Sends all commands (in chunks of at most 1000 commands / 4 MiB) and returns every reply
  /// in order. Error replies are returned in place.
  std::vector<reply> pipeline(const std::vector<std::vector<std::string>>& cmds);
  /// Writes raw bytes (for protocol-level tests) and reads `replies` replies back.
  std::vector<reply> raw(std::string_view bytes, std::size_t replies);

  /// The options this client was created with.
  const client_options& options() const noexcept;
  /// "host:port", for messages.
  std::string address() const;

  /// Same as `pipeline` (a single server owns every key).
  std::vector<reply> pipeline_keyed(const std::vector<std::vector<std::string>>& cmds) override {
    return pipeline(cmds);
  }
  /// Just this connection.
  std::vector<sync_client*> shard_clients() override { return {this}; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Connects and sends PING; returns the `client_error` message, or "" when PONG came back.
/// The PING matters: with TLS 1.3 a server rejects a client certificate only after the
/// client's side of the handshake is done, so the refusal shows on the first read.
std::string connection_error(const client_options& options);

}  // namespace ferry::testing
