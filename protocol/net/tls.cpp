#include "protocol/net/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ferry::protocol {
namespace {

/// The SSL ex_data slot that marks "the server asked for a client certificate we lack".
int missing_certificate_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

/// OpenSSL calls this only when the server requests a certificate and none is set: note it and
/// go on without one (the server decides whether that is acceptable).
int note_certificate_request(SSL* ssl, X509** /*certificate*/, EVP_PKEY** /*key*/) {
  static int marker = 1;
  SSL_set_ex_data(ssl, missing_certificate_index(), &marker);
  return 0;
}

std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : fmt::format("OpenSSL error {:#x}", code);
}

}  // namespace

boost::system::result<std::shared_ptr<boost::asio::ssl::context>, std::string> make_tls_context(
    const tls_options& options) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // A released buffer per idle connection keeps memory flat with many connections.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);

  if (options.insecure) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    if (options.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(native) != 1) {
        return fmt::format("cannot load the system's CA certificates: {}", openssl_reason());
      }
    } else if (SSL_CTX_load_verify_locations(native, options.ca_file.c_str(), nullptr) != 1) {
      return fmt::format("cannot load CA certificates from '{}': {}", options.ca_file,
                         openssl_reason());
    }
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    if (options.cert_file.empty() || options.key_file.empty()) {
      return std::string("a client certificate needs both --cert and --key");
    }
    if (SSL_CTX_use_certificate_chain_file(native, options.cert_file.c_str()) != 1) {
      return fmt::format("cannot load the client certificate '{}': {}", options.cert_file,
                         openssl_reason());
    }
    if (SSL_CTX_use_PrivateKey_file(native, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fmt::format("cannot load the client key '{}': {}", options.key_file, openssl_reason());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
      return fmt::format("the client key '{}' does not match the certificate '{}'",
                         options.key_file, options.cert_file);
    }
  }
  if (options.cert_file.empty()) SSL_CTX_set_client_cert_cb(native, note_certificate_request);
  return context;
}

bool asked_for_missing_client_certificate(const SSL* ssl) noexcept {
  return ssl != nullptr && SSL_get_ex_data(ssl, missing_certificate_index()) != nullptr;
}

}  // namespace ferry::protocol
