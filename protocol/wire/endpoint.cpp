#include "protocol/wire/endpoint.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <ostream>
#include <system_error>

namespace ferry::protocol {
namespace {

// Every message starts the same way so that a caller can prefix the option it came from
// ("--target: invalid Redis URL: ..."). No message quotes the URL: the password would be in it.
std::string invalid(std::string_view why) { return std::string("invalid Redis URL: ").append(why); }

constexpr std::string_view accepted_schemes = "use redis:// (plain TCP) or rediss:// (TLS)";

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_unreserved(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_digit);
}

// A whole unsigned decimal number: no sign, no spaces, nothing after it, no overflow.
template <typename Int>
bool parse_decimal(std::string_view text, Int& value) noexcept {
  if (!all_digits(text)) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view space = " \t\r\n\v\f";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

int hex_value(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Decodes %XX escapes. Anything else after a '%' is an error rather than a literal '%', so that
// a mistyped escape in a password fails loudly instead of logging in with different bytes.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !is_hex(in[i + 1]) || !is_hex(in[i + 2])) return false;
    out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
    i += 2;
  }
  return true;
}

// Encodes everything but the unreserved characters (and `keep`), for redacted().
std::string percent_encode(std::string_view in, std::string_view keep = {}) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      fmt::format_to(std::back_inserter(out), "%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// A scheme is quoted in an error only when it is letters (and + - .), at most 16 of them: enough
// to show "http" or "valkey", too strict to echo a password or token typed in its place.
bool safe_to_quote_scheme(std::string_view s) noexcept {
  return !s.empty() && s.size() <= 16 && is_alpha(s.front()) &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alpha(c) || c == '+' || c == '-' || c == '.'; });
}

// A registered name or dotted IPv4 address. Characters are limited to what DNS names use so that
// a typo is reported here, not as a confusing resolver failure later.
const char* check_name_host(std::string_view host) {
  if (host.empty()) return "the host is empty";
  const bool name_chars = std::all_of(host.begin(), host.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
  });
  if (!name_chars) {
    return "the host contains a character that is not allowed (use letters, digits, '-', '.' "
           "and '_', or an IPv6 address in brackets)";
  }
  // All digits and dots can only be an IPv4 address: require four parts of 0..255.
  if (std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; })) {
    int parts = 0;
    std::size_t start = 0;
    while (true) {
      const auto dot = host.find('.', start);
      const auto part = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
      unsigned value = 0;
      if (part.size() > 3 || !parse_decimal(part, value) || value > 255) {
        return "the host is not a valid IPv4 address";
      }
      ++parts;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    if (parts != 4) return "the host is not a valid IPv4 address";
  }
  return nullptr;
}

// An IPv6 literal (brackets removed, escapes decoded), optionally with a zone id ("fe80::1%eth0").
// Only the alphabet is checked; the resolver judges the exact form.
const char* check_ipv6_host(std::string_view host) {
  const auto zone_at = host.find('%');
  const auto address = host.substr(0, zone_at);
  if (address.empty()) return "the IPv6 address in brackets is empty";
  const bool ok = std::count(address.begin(), address.end(), ':') >= 2 &&
                  std::all_of(address.begin(), address.end(),
                              [](char c) { return is_hex(c) || c == ':' || c == '.'; });
  if (!ok) return "the text in brackets is not an IPv6 address";
  if (zone_at != std::string_view::npos) {
    const auto zone = host.substr(zone_at + 1);
    const bool zone_ok = !zone.empty() && std::all_of(zone.begin(), zone.end(), [](char c) {
      return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
    });
    if (!zone_ok) return "the IPv6 zone id (after %25) is empty or not a name";
  }
  return nullptr;
}

}  // namespace

std::string endpoint::address() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string endpoint::redacted() const {
  std::string out = tls ? "rediss://" : "redis://";
  if (!password.empty()) {
    out += percent_encode(user);
    out += ":***@";
  } else if (!user.empty()) {
    out += percent_encode(user);
    out += '@';
  }
  if (host.find(':') != std::string::npos) {
    out += '[';
    out += percent_encode(host, ":");
    out += ']';
  } else {
    out += percent_encode(host);
  }
  fmt::format_to(std::back_inserter(out), ":{}", port);
  if (db != 0) fmt::format_to(std::back_inserter(out), "/{}", db);
  return out;
}

std::ostream& operator<<(std::ostream& os, const endpoint& e) { return os << e.redacted(); }

boost::system::result<endpoint, std::string> parse_endpoint(std::string_view url) {
  const auto text = trim(url);
  if (text.empty()) return invalid("it is empty");

  endpoint result;

  // --- scheme ---
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return invalid(fmt::format("it has no scheme; {}, e.g. redis://host:6379", accepted_schemes));
  }
  const auto scheme = text.substr(0, scheme_end);
  if (iequals(scheme, "redis")) {
    result.tls = false;
  } else if (iequals(scheme, "rediss")) {
    result.tls = true;
  } else if (safe_to_quote_scheme(scheme)) {
    return invalid(fmt::format("unsupported scheme \"{}://\"; {}", scheme, accepted_schemes));
  } else {
    return invalid(fmt::format("unsupported scheme; {}", accepted_schemes));
  }

  // --- split authority / path ---
  const auto rest = text.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const auto authority = rest.substr(0, authority_end);
  const auto tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  // An '@' after the authority means a '/', '?' or '#' in the user name or password ended the
  // authority early; say so instead of reporting a puzzling host or port.
  if (tail.find('@') != std::string_view::npos) {
    return invalid(
        "found '@' after the host; a user name or password containing '/', '?' or '#' must be "
        "percent-encoded (%2F, %3F, %23)");
  }
  if (tail.find('?') != std::string_view::npos) {
    return invalid(
        "query parameters (\"?...\") are not supported; give these settings as command-line "
        "options");
  }
  if (tail.find('#') != std::string_view::npos) {
    return invalid("a fragment (\"#...\") is not supported");
  }

  // --- user info ---
  const auto at = authority.rfind('@');
  auto host_port = authority;
  if (at != std::string_view::npos) {
    const auto user_info = authority.substr(0, at);
    host_port = authority.substr(at + 1);
    const auto colon = user_info.find(':');
    if (!percent_decode(user_info.substr(0, colon), result.user)) {
      return invalid("the user name has an invalid percent-escape (use %XX; write '%' as %25)");
    }
    if (colon != std::string_view::npos &&
        !percent_decode(user_info.substr(colon + 1), result.password)) {
      return invalid("the password has an invalid percent-escape (use %XX; write '%' as %25)");
    }
  }

  // --- host and port ---
  std::string_view host_text;
  std::string_view port_text;
  bool has_port = false;
  bool bracketed = false;
  if (!host_port.empty() && host_port.front() == '[') {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos) return invalid("the IPv6 address has no closing ']'");
    host_text = host_port.substr(1, close - 1);
    const auto after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return invalid("unexpected text after the IPv6 address; expected ]:port");
      }
      has_port = true;
      port_text = after.substr(1);
    }
    bracketed = true;
  } else {
    const auto colon = host_port.find(':');
    if (colon != std::string_view::npos &&
        host_port.find(':', colon + 1) != std::string_view::npos) {
      return invalid("an IPv6 address must be written in brackets, e.g. redis://[::1]:6379");
    }
    host_text = host_port.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = host_port.substr(colon + 1);
    }
  }

  if (!percent_decode(host_text, result.host)) {
    return invalid("the host has an invalid percent-escape (use %XX)");
  }
  if (result.host.empty()) return invalid("the host is empty");
  if (const char* problem =
          bracketed ? check_ipv6_host(result.host) : check_name_host(result.host)) {
    return invalid(problem);
  }

  if (has_port) {
    if (port_text.empty()) return invalid("the port after ':' is empty");
    std::uint32_t port = 0;
    if (!parse_decimal(port_text, port) || port < 1 || port > 65535) {
      return invalid("the port must be a number from 1 to 65535");
    }
    result.port = static_cast<std::uint16_t>(port);
  }

  // --- database ---
  if (!tail.empty()) {
    // `tail` starts with '/' here: '?' and '#' were refused above.
    const auto db_text = tail.substr(1);
    if (!db_text.empty() && !parse_decimal(db_text, result.db)) {
      return invalid(fmt::format("the database after '/' must be a number from 0 to {}",
                                 std::numeric_limits<int>::max()));
    }
  }
  return result;
}

}  // namespace ferry::protocol
