#pragma once
// Redis endpoint URLs: redis://[user[:password]@]host[:port][/db] and rediss:// for TLS.
//
// The grammar is RFC 3986's authority and path, restricted to what a Redis connection needs.
// A user name or password holding '/', '?', '#' or '%' must be percent-encoded; '@' and ':' in a
// password may be written as they are (the last '@' ends the user part, the first ':' ends the
// user name). Query strings and fragments are refused rather than ignored, so that an option
// written there is never silently dropped.

#include <boost/system/result.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace ferry::protocol {

/// Where a Redis server is and how to log in. Printing never shows the password.
struct endpoint {
  /// rediss:// — connect with TLS.
  bool tls = false;
  /// Host name or IP address (an IPv6 literal without brackets; a zone id follows a '%').
  std::string host;
  /// TCP port; 6379 when the URL names none.
  std::uint16_t port = 6379;
  /// ACL user name; empty for the default user.
  std::string user;
  /// Password or access token; empty when none. Never printed.
  std::string password;
  /// Database number from the URL path; 0 when absent.
  int db = 0;

  /// "host:port", with brackets around an IPv6 literal.
  std::string address() const;
  /// The URL with the password replaced by "***", safe for logs and reports. The user name is
  /// kept; the port is always shown; "/db" only when it is not 0.
  std::string redacted() const;

  /// Field-wise equality (the password included).
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// Writes `e.redacted()`, so that streaming an endpoint (a log line, a test failure) cannot show
/// its password.
std::ostream& operator<<(std::ostream& os, const endpoint& e);

/// Parses a URL. Percent-escapes in user, password and host are decoded; ASCII whitespace around
/// the URL (a trailing newline from a file or variable) is ignored. The error text says what is
/// wrong without repeating any part of the URL that could hold the password: only a scheme made
/// of letters is ever quoted.
boost::system::result<endpoint, std::string> parse_endpoint(std::string_view url);

}  // namespace ferry::protocol
