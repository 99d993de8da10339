#include "protocol/tls.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ferry::protocol {
namespace {

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
  return context;
}

}  // namespace ferry::protocol
