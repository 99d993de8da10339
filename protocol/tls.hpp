#pragma once
// TLS client settings and the OpenSSL context built from them.

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/result.hpp>

namespace ferry::protocol {

/// How to verify a TLS server and, optionally, present a client certificate.
struct tls_options {
  /// PEM file of trusted CAs; empty means the system's default store.
  std::string ca_file;
  /// PEM client certificate (chain) presented to servers that ask for one.
  std::string cert_file;
  /// PEM private key of `cert_file`.
  std::string key_file;
  /// Name to send as SNI and to verify the certificate against, when it differs from the host.
  std::string server_name;
  /// Skip certificate and host name verification. Must be asked for out loud.
  bool insecure = false;
};

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
