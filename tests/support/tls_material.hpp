#pragma once
// Certificates and keys generated inside the test with the OpenSSL 3 C API: no fixtures on disk
// that expire, no `openssl` CLI. Keys are EC P-256 (fast to generate, accepted by redis-server).

#include <filesystem>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace ferry::testing {

/// A certificate and its private key as PEM files.
struct cert_files {
  /// PEM certificate.
  std::filesystem::path cert;
  /// PEM private key (unencrypted PKCS#8).
  std::filesystem::path key;
};

/// A trusted CA, certificates signed by it, and the "bad" variants fault tests need.
///
/// All files live in a private temp dir owned by this object. Every server certificate carries
/// extendedKeyUsage serverAuth+clientAuth because Redis presents its server certificate as the
/// client certificate on cluster-bus and replication links.
class tls_material {
 public:
  /// Generates everything (a few milliseconds).
  tls_material();

  /// The CA everyone trusts ("ferry test CA"); `ca().cert` is the file to pass as
  /// --tls-ca-cert-file.
  const cert_files& ca() const noexcept { return ca_; }
  /// Server certificate for CN=localhost, SAN DNS:localhost + IP:127.0.0.1, signed by `ca()`.
  const cert_files& server() const noexcept { return server_; }
  /// Client certificate (CN=ferry-test-client, clientAuth), signed by `ca()`.
  const cert_files& client() const noexcept { return client_; }
  /// Like `server()` but valid from 10 days ago until 1 day ago.
  const cert_files& expired_server() const noexcept { return expired_server_; }
  /// Signed by `ca()` but only for DNS:wronghost.example (no localhost, no 127.0.0.1).
  const cert_files& wrong_host_server() const noexcept { return wrong_host_server_; }
  /// A second, untrusted CA ("ferry other CA").
  const cert_files& other_ca() const noexcept { return other_ca_; }
  /// A `server()`-shaped certificate (localhost, 127.0.0.1) signed by `other_ca()`.
  const cert_files& other_ca_server() const noexcept { return other_ca_server_; }
  /// A client certificate signed by `other_ca()` (rejected by --tls-auth-clients yes servers).
  const cert_files& other_ca_client() const noexcept { return other_ca_client_; }

  /// Directory holding the files.
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }

 private:
  temp_dir dir_;
  cert_files ca_, server_, client_, expired_server_, wrong_host_server_, other_ca_,
      other_ca_server_, other_ca_client_;
};

}  // namespace ferry::testing
