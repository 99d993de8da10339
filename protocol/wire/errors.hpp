#pragma once
// ferry's error taxonomy for the wire: one enum, one category, one classification function.
//
// Every failure on the I/O path becomes an error_code in `ferry_category()`. What to do about it
// is decided once, by `disposition_of`: retry the operation, fail only the key concerned, or stop
// the job.

#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::protocol {

/// Everything that can go wrong talking to Redis, as ferry distinguishes it.
enum class errc {
  // --- retryable: the same operation may succeed later, possibly on another connection ---
  timeout = 1,        ///< an operation passed its deadline
  connection_closed,  ///< the peer closed the connection or it was reset
  connect_failed,     ///< a TCP connection could not be established (refused, unreachable)
  moved,              ///< -MOVED: the slot lives on another node; refresh the slot map
  ask,                ///< -ASK: the slot is migrating; send ASKING to the named node
  tryagain,           ///< -TRYAGAIN: multi-key operation during resharding
  loading,            ///< -LOADING: the server is loading its dataset
  busy,               ///< -BUSY: a script is running
  clusterdown,        ///< -CLUSTERDOWN: the cluster cannot serve the slot right now
  masterdown,         ///< -MASTERDOWN: a replica lost its master
  // --- per key: this key cannot be copied, the job goes on ---
  busykey,        ///< -BUSYKEY: the target key exists and REPLACE was not allowed
  bad_payload,    ///< the target refused a DUMP payload (version, checksum or format)
  key_too_large,  ///< a key or value is over the server's proto-max-bulk-len or ferry's limit
  wrong_type,     ///< -WRONGTYPE
  // --- fatal: the job cannot go on until a person acts ---
  auth_failed,         ///< -WRONGPASS / -NOAUTH / invalid password / AUTH without a password set
  no_permission,       ///< -NOPERM: the ACL user may not run a command
  tls_failed,          ///< a TLS handshake or certificate verification failed
  oom,                 ///< -OOM: the target reached maxmemory
  protocol_violation,  ///< the peer sent bytes that are not RESP, or the server says ferry did
  reply_too_large,     ///< a reply announced a length over ferry's configured limit
  readonly,            ///< -READONLY: writing to a replica
  unknown_command,     ///< -ERR unknown command (renamed or disabled, e.g. DUMP on some services)
  resolve_failed,      ///< the host name did not resolve
  server_error,        ///< any other error reply
};

/// The category of `errc`.
const boost::system::error_category& ferry_category() noexcept;

/// The enumerator's own name ("busykey", "oom", ...): a stable word for files and reports.
std::string_view errc_name(errc e) noexcept;

/// Wraps an `errc` in an error_code of `ferry_category()`.
boost::system::error_code make_error_code(errc e) noexcept;

/// What a caller should do about an error.
enum class disposition {
  retry,     ///< back off and try the same operation again
  fail_key,  ///< record the key as failed and carry on
  fatal,     ///< stop the job with a checkpoint and a message
};

/// The single place that decides how an error is handled.
///
/// `ferry_category()` codes follow the three groups of `errc`. Codes from other categories are
/// classified too, so that a connection may pass an Asio error through unchanged:
/// - retry: end of stream (`asio::error::eof`), a TLS stream cut without close_notify
///   (`ssl::error::stream_truncated`), a Beast stream timeout, a DNS "try again", and the system
///   errors of a dropped or unreachable peer (connection reset/aborted/refused, broken pipe, timed
///   out, host/network unreachable or down, not connected, interrupted, no buffer space, no local
///   address available);
/// - fatal: every other TLS error (handshake, certificate), name not found, cancellation
///   (`operation_aborted` means someone asked to stop; a connection that cancels on its own
///   deadline reports `errc::timeout` instead), any other system error, an unknown category, and
///   a success code (a caller bug: retrying it could loop forever).
///
/// Asio, SSL and Beast categories are recognised by their `name()` ("asio.misc", "asio.netdb",
/// "asio.ssl", "asio.ssl.stream", "boost.beast") rather than by identity, so that this pure
/// library needs neither Asio nor OpenSSL. The names are part of those libraries' stable output
/// (they appear in every printed error_code).
disposition disposition_of(const boost::system::error_code& ec) noexcept;

/// Maps the text of an error reply (without the leading '-'; one is tolerated) to an `errc`.
/// The first word decides (MOVED, ASK, TRYAGAIN, LOADING, BUSY, CLUSTERDOWN, MASTERDOWN, BUSYKEY,
/// WRONGTYPE, WRONGPASS, NOAUTH, NOPERM, OOM, READONLY); after "ERR" the known texts of Redis
/// 5 to 7 and Valkey are recognised (bad DUMP payload, unknown command or subcommand, AUTH
/// without a configured password, proto-max-bulk-len limits, protocol errors). Anything else is
/// `errc::server_error`.
///
/// The server closes the connection right after any "ERR Protocol error: ..." reply. That includes
/// a RESTORE payload over proto-max-bulk-len ("invalid bulk length", classified `key_too_large`)
/// and a large request before AUTH ("unauthenticated bulk length", classified `auth_failed`): the
/// commands pipelined after it then fail with `connection_closed`.
errc classify_error_reply(std::string_view message) noexcept;

/// What a person can do about a server's refusal of a command, to append to a message that
/// quotes it ("; ..."), or empty when the refusal says it all. NOPERM names the ACL rule to add
/// (the command quoted in the reply, "+dump"); READONLY says the node is a replica; an unknown
/// command says it was renamed or disabled.
std::string refusal_advice(errc kind, std::string_view reply_text);

/// Where a -MOVED or -ASK reply sends a request.
struct redirect {
  /// true for ASK (one-off, send ASKING first), false for MOVED (the slot map changed).
  bool ask = false;
  /// The hash slot named by the reply.
  std::uint16_t slot = 0;
  /// The node's host as the reply gives it (an IPv6 address without brackets). Empty when the
  /// server does not know its endpoint (Redis 7 `cluster-preferred-endpoint-type
  /// unknown-endpoint`, reply "MOVED 3999 :6381"): the node is then on the same host as the
  /// connection that received the reply, at `port`.
  std::string host;
  /// The node's port.
  std::uint16_t port = 0;

  /// Field-wise equality.
  friend bool operator==(const redirect&, const redirect&) = default;
};

/// Parses "MOVED 3999 127.0.0.1:6381" or "ASK 3999 [::1]:6381"; nothing when it is neither or is
/// malformed (slot over 16383, port not 1..65535). Redis writes an IPv6 address without brackets
/// ("MOVED 3999 ::1:6381"), so the port is what follows the last ':'; brackets are accepted too.
/// A host name ("node-1.example:6381") is kept as given.
std::optional<redirect> parse_redirect(std::string_view message);

}  // namespace ferry::protocol

namespace boost::system {
template <>
struct is_error_code_enum<ferry::protocol::errc> : std::true_type {};
}  // namespace boost::system
