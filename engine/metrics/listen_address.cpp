#include "engine/metrics/listen_address.hpp"

#include <fmt/format.h>

#include <boost/system/errc.hpp>
#include <charconv>

namespace ferry::engine::metrics {
namespace {

protocol::failure invalid(std::string_view text, std::string_view why) {
  return protocol::failure{
      boost::system::errc::make_error_code(boost::system::errc::invalid_argument),
      fmt::format("--metrics '{}': {}; give a port (9121, on 127.0.0.1 only), ADDRESS:PORT "
                  "(0.0.0.0:9121 to listen on every interface) or [IPV6]:PORT",
                  text, why)};
}

}  // namespace

std::string listen_address::text() const {
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), port);
  return fmt::format("{}:{}", address.to_string(), port);
}

maybe<listen_address> parse_listen_address(std::string_view text) {
  listen_address result;
  std::string_view host;
  std::string_view port = text;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return invalid(text, "an IPv6 address needs ]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) return invalid(text, "the address before ':' is missing");
    if (host.find(':') != std::string_view::npos) {
      return invalid(text, "write an IPv6 address in brackets");
    }
  }
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc{} || end != port.data() + port.size() || value > 65535) {
    return invalid(text, "the port is not a number from 0 to 65535");
  }
  result.port = static_cast<std::uint16_t>(value);
  if (host.empty() || host == "localhost") return result;
  boost::system::error_code parse_error;
  result.address = boost::asio::ip::make_address(std::string(host), parse_error);
  if (parse_error) return invalid(text, fmt::format("'{}' is not an IP address", host));
  return result;
}

}  // namespace ferry::engine::metrics
