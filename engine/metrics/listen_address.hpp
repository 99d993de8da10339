#pragma once
// Where the metrics endpoint listens: `--metrics 9121` is 127.0.0.1:9121 (loopback, so nothing
// is exposed by accident); `--metrics 0.0.0.0:9121` or `[::]:9121` exposes it on purpose.

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/runtime/result.hpp"

namespace ferry::engine::metrics {

/// An IP address and a TCP port to listen on.
struct listen_address {
  /// The address to bind (127.0.0.1 unless one was given).
  boost::asio::ip::address address = boost::asio::ip::address_v4::loopback();
  /// The port; 0 lets the system choose one (tests).
  std::uint16_t port = 0;

  /// "127.0.0.1:9121", "[::1]:9121".
  std::string text() const;
};

/// Parses "PORT", "ADDRESS:PORT" (IPv4, `localhost`) or "[IPV6]:PORT". Fails with a message
/// quoting the value and the accepted forms (a host name other than localhost is refused: the
/// endpoint binds an address of this machine).
maybe<listen_address> parse_listen_address(std::string_view text);

}  // namespace ferry::engine::metrics
