#include "protocol/wire/errors.hpp"

#include <netdb.h>  // TRY_AGAIN: the value Asio gives host_not_found_try_again on POSIX

#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

namespace ferry::protocol {
namespace {

// boost::system::error_category has a protected non-virtual destructor (categories are never
// deleted through a base pointer); GCC warns about any class derived from it, as Boost's own
// categories acknowledge with the same pragma.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class ferry_error_category final : public boost::system::error_category {
 public:
  // A fixed id makes the category compare equal across shared-library copies (Boost.System
  // compares ids when they are set). The value is arbitrary but must never change.
  constexpr ferry_error_category() noexcept : error_category(0x6665'7272'7931'0001ULL) {}

  const char* name() const noexcept override { return "ferry"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::timeout:
        return "the operation did not finish before its deadline";
      case errc::connection_closed:
        return "the server closed or reset the connection";
      case errc::connect_failed:
        return "could not connect to the server (refused or unreachable)";
      case errc::moved:
        return "the hash slot has moved to another cluster node (MOVED)";
      case errc::ask:
        return "the hash slot is migrating to another cluster node (ASK)";
      case errc::tryagain:
        return "the cluster is resharding this slot; try again (TRYAGAIN)";
      case errc::loading:
        return "the server is still loading its dataset (LOADING)";
      case errc::busy:
        return "the server is busy running a script or function (BUSY)";
      case errc::clusterdown:
        return "the cluster cannot serve this slot right now (CLUSTERDOWN)";
      case errc::masterdown:
        return "the replica has lost its link to its master (MASTERDOWN)";
      case errc::busykey:
        return "the key already exists on the target and overwriting is not allowed (BUSYKEY)";
      case errc::bad_payload:
        return "the target refused the DUMP payload: the source's RDB format is newer than the "
               "target understands, or the payload is corrupt";
      case errc::key_too_large:
        return "the key or value is larger than the server accepts (proto-max-bulk-len) or than "
               "ferry's limit";
      case errc::wrong_type:
        return "the key holds a different type than the command expects";
      case errc::auth_failed:
        return "authentication failed: wrong user name or password, or none was given";
      case errc::no_permission:
        return "the ACL user is not allowed to run this command or touch this key (NOPERM)";
      case errc::tls_failed:
        return "the TLS handshake or certificate verification failed";
      case errc::oom:
        return "the target is out of memory (used memory is over maxmemory)";
      case errc::protocol_violation:
        return "the connection broke the Redis protocol (RESP); this is a bug in ferry or the peer";
      case errc::reply_too_large:
        return "a reply is larger than ferry's configured limit";
      case errc::readonly:
        return "the server is a read-only replica";
      case errc::unknown_command:
        return "the server does not know the command (disabled or renamed by the service?)";
      case errc::resolve_failed:
        return "the host name could not be resolved";
      case errc::server_error:
        return "the server replied with an error";
    }
    return "unknown ferry error";
  }
};
#pragma GCC diagnostic pop

// The category is a constant-initialised object: no static-initialisation-order trouble and no
// guard variable on the hot path.
constinit const ferry_error_category the_category;

constexpr bool starts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.substr(0, prefix.size()) == prefix;
}

// Classifies what follows "ERR ". Redis puts the real reason in free text here, so the known
// texts of Redis 5 to 7 (and Valkey, which keeps them) are matched by prefix.
errc classify_err_text(std::string_view text) noexcept {
  if (starts_with(text, "DUMP payload version or checksum are wrong")) return errc::bad_payload;
  if (starts_with(text, "Bad data format")) return errc::bad_payload;
  // "unknown command 'DUMP', with args beginning with: ..." and, e.g. for CLUSTER SHARDS on
  // Redis 6, "unknown subcommand 'SHARDS'. Try CLUSTER HELP.": both mean "not available here".
  if (starts_with(text, "unknown command") || starts_with(text, "unknown subcommand")) {
    return errc::unknown_command;
  }
  // Redis 6+: "AUTH <password> called without any password configured for the default user...";
  // Redis 5 and older: "invalid password" and "Client sent AUTH, but no password is set".
  if (starts_with(text, "AUTH <password> called without") ||
      starts_with(text, "invalid password") ||
      starts_with(text, "invalid username-password pair") ||
      starts_with(text, "Client sent AUTH, but no password is set")) {
    return errc::auth_failed;
  }
  // SETRANGE/APPEND over proto-max-bulk-len (Redis 7: "string exceeds maximum allowed size
  // (proto-max-bulk-len)"; older: "string exceeds maximum allowed size (512MB)").
  if (starts_with(text, "string exceeds maximum allowed size")) return errc::key_too_large;
  if (starts_with(text, "Protocol error")) {
    const auto detail = text.substr(std::string_view("Protocol error").size());
    // Before AUTH a server accepts only small requests ("unauthenticated bulk length",
    // "unauthenticated multibulk length"): the connection is not logged in.
    if (detail.find("unauthenticated") != std::string_view::npos) return errc::auth_failed;
    // ferry only ever sends well-formed lengths, so these mean a bulk over proto-max-bulk-len or
    // more arguments than the server takes: the key is too large for this server.
    if (starts_with(detail, ": invalid bulk length") ||
        starts_with(detail, ": invalid multibulk length")) {
      return errc::key_too_large;
    }
    return errc::protocol_violation;
  }
  return errc::server_error;
}

bool parse_number(std::string_view text, unsigned& value) noexcept {
  if (text.empty() || text.front() < '0' || text.front() > '9') return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

disposition disposition_of_ferry(errc e) noexcept {
  switch (e) {
    case errc::timeout:
    case errc::connection_closed:
    case errc::connect_failed:
    case errc::moved:
    case errc::ask:
    case errc::tryagain:
    case errc::loading:
    case errc::busy:
    case errc::clusterdown:
    case errc::masterdown:
      return disposition::retry;
    case errc::busykey:
    case errc::bad_payload:
    case errc::key_too_large:
    case errc::wrong_type:
      return disposition::fail_key;
    case errc::auth_failed:
    case errc::no_permission:
    case errc::tls_failed:
    case errc::oom:
    case errc::protocol_violation:
    case errc::reply_too_large:
    case errc::readonly:
    case errc::unknown_command:
    case errc::resolve_failed:
    case errc::server_error:
      return disposition::fatal;
  }
  return disposition::fatal;
}

// System (errno) errors, compared through their portable generic condition.
disposition disposition_of_generic(int condition) noexcept {
  using boost::system::errc::errc_t;
  switch (static_cast<errc_t>(condition)) {
    case errc_t::connection_reset:
    case errc_t::connection_aborted:
    case errc_t::connection_refused:
    case errc_t::broken_pipe:
    case errc_t::timed_out:
    case errc_t::host_unreachable:
    case errc_t::network_unreachable:
    case errc_t::network_down:
    case errc_t::network_reset:
    case errc_t::not_connected:
    case errc_t::interrupted:
    case errc_t::resource_unavailable_try_again:
    case errc_t::no_buffer_space:
    // Ephemeral ports exhausted by many short connections: they come back after TIME_WAIT.
    case errc_t::address_not_available:
      return disposition::retry;
    default:
      // operation_canceled among them: see the header.
      return disposition::fatal;
  }
}

}  // namespace

const boost::system::error_category& ferry_category() noexcept { return the_category; }

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), the_category};
}

disposition disposition_of(const boost::system::error_code& ec) noexcept {
  if (!ec) return disposition::fatal;
  const auto& category = ec.category();
  if (category == the_category) return disposition_of_ferry(static_cast<errc>(ec.value()));

  const std::string_view name = category.name();
  const int value = ec.value();
  if (name == "asio.misc") return value == 2 ? disposition::retry : disposition::fatal;  // eof
  if (name == "asio.ssl.stream") {
    return value == 1 ? disposition::retry : disposition::fatal;  // stream_truncated
  }
  if (name == "asio.ssl" || name == "asio.addrinfo") return disposition::fatal;
  if (name == "asio.netdb") return value == TRY_AGAIN ? disposition::retry : disposition::fatal;
  if (name == "boost.beast")
    return value == 1 ? disposition::retry : disposition::fatal;  // timeout

  const auto condition = ec.default_error_condition();
  if (condition.category() == boost::system::generic_category()) {
    return disposition_of_generic(condition.value());
  }
  return disposition::fatal;
}

errc classify_error_reply(std::string_view message) noexcept {
  if (!message.empty() && message.front() == '-') message.remove_prefix(1);
  const auto space = message.find(' ');
  const auto code = message.substr(0, space);
  const auto text =
      space == std::string_view::npos ? std::string_view{} : message.substr(space + 1);

  // The error code is the first word, matched whole: BUSY, BUSYKEY and BUSYGROUP differ.
  if (code == "ERR") return classify_err_text(text);
  if (code == "MOVED") return errc::moved;
  if (code == "ASK") return errc::ask;
  if (code == "TRYAGAIN") return errc::tryagain;
  if (code == "LOADING") return errc::loading;
  if (code == "BUSY") return errc::busy;
  if (code == "CLUSTERDOWN") return errc::clusterdown;
  if (code == "MASTERDOWN") return errc::masterdown;
  if (code == "BUSYKEY") return errc::busykey;
  if (code == "WRONGTYPE") return errc::wrong_type;
  if (code == "WRONGPASS" || code == "NOAUTH") return errc::auth_failed;
  if (code == "NOPERM") return errc::no_permission;
  if (code == "OOM") return errc::oom;
  if (code == "READONLY") return errc::readonly;
  return errc::server_error;
}

std::optional<redirect> parse_redirect(std::string_view message) {
  if (!message.empty() && message.front() == '-') message.remove_prefix(1);
  redirect result;
  if (starts_with(message, "MOVED ")) {
    message.remove_prefix(6);
  } else if (starts_with(message, "ASK ")) {
    result.ask = true;
    message.remove_prefix(4);
  } else {
    return std::nullopt;
  }

  const auto space = message.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  unsigned slot = 0;
  if (!parse_number(message.substr(0, space), slot) || slot > 16383) return std::nullopt;
  result.slot = static_cast<std::uint16_t>(slot);

  auto where = message.substr(space + 1);
  if (where.find(' ') != std::string_view::npos) return std::nullopt;
  std::string_view host;
  std::string_view port_text;
  if (starts_with(where, "[")) {
    const auto close = where.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = where.substr(1, close - 1);
    port_text = where.substr(close + 2);
  } else {
    // Redis prints an IPv6 address bare ("::1:7000"): the port follows the last ':'.
    const auto colon = where.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = where.substr(0, colon);
    port_text = where.substr(colon + 1);
  }
  unsigned port = 0;
  if (!parse_number(port_text, port) || port < 1 || port > 65535) return std::nullopt;
  result.host.assign(host);
  result.port = static_cast<std::uint16_t>(port);
  return result;
}

std::string refusal_advice(errc kind, std::string_view reply_text) {
  // The command between the first pair of single quotes: "... to run the 'dump' command",
  // "unknown command 'PEXPIRETIME', with args ...".
  std::string command;
  if (const auto open = reply_text.find('\''); open != std::string_view::npos) {
    const auto close = reply_text.find('\'', open + 1);
    if (close != std::string_view::npos) command = reply_text.substr(open + 1, close - open - 1);
  }
  for (char& ch : command) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  switch (kind) {
    case errc::no_permission:
      if (command.empty()) {
        return "; ferry's ACL user lacks a permission: give it the rules in the README "
               "(\"Minimal ACL rules\")";
      }
      return "; ferry's ACL user may not run " + command + ": add +" + command +
             " to its rules (the README lists the minimal ACL rules per command)";
    case errc::readonly:
      return "; this node is a read-only replica: give ferry the address of its master (for a "
             "cluster, any master)";
    case errc::unknown_command:
      return "; the server does not know " +
             (command.empty() ? std::string("the command") : command) +
             ": it was renamed or disabled (rename-command, or a managed service's policy)";
    default:
      return {};
  }
}

std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::timeout:
      return "timeout";
    case errc::connection_closed:
      return "connection_closed";
    case errc::connect_failed:
      return "connect_failed";
    case errc::moved:
      return "moved";
    case errc::ask:
      return "ask";
    case errc::tryagain:
      return "tryagain";
    case errc::loading:
      return "loading";
    case errc::busy:
      return "busy";
    case errc::clusterdown:
      return "clusterdown";
    case errc::masterdown:
      return "masterdown";
    case errc::busykey:
      return "busykey";
    case errc::bad_payload:
      return "bad_payload";
    case errc::key_too_large:
      return "key_too_large";
    case errc::wrong_type:
      return "wrong_type";
    case errc::auth_failed:
      return "auth_failed";
    case errc::no_permission:
      return "no_permission";
    case errc::tls_failed:
      return "tls_failed";
    case errc::oom:
      return "oom";
    case errc::protocol_violation:
      return "protocol_violation";
    case errc::reply_too_large:
      return "reply_too_large";
    case errc::readonly:
      return "readonly";
    case errc::unknown_command:
      return "unknown_command";
    case errc::resolve_failed:
      return "resolve_failed";
    case errc::server_error:
      return "server_error";
  }
  return "unknown";
}

}  // namespace ferry::protocol
