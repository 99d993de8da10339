#pragma once
// What the user says about TLS for one side: a plain value, so settings can be held without
// OpenSSL (protocol/net/tls.hpp builds the context from it).

#include <string>

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

}  // namespace ferry::protocol
