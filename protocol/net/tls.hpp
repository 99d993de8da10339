#pragma once
// TLS client settings and the OpenSSL context built from them.

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>
#include <memory>
#include <string>

#include "protocol/wire/tls_options.hpp"

namespace ferry::protocol {

/// A client context with TLS 1.2 as the minimum and verification on unless `insecure`. The error
/// names the file that could not be used and why. Connections made from it remember whether the
/// server asked for a client certificate that ferry did not have (see
/// `asked_for_missing_client_certificate`).
boost::system::result<std::shared_ptr<boost::asio::ssl::context>, std::string> make_tls_context(
    const tls_options& options);

/// True when, during the handshake of `ssl` (made from a `make_tls_context` context), the server
/// asked for a client certificate and none was configured: the reason a server then hangs up.
bool asked_for_missing_client_certificate(const SSL* ssl) noexcept;

}  // namespace ferry::protocol
