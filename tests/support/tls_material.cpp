#include "tests/support/tls_material.hpp"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace ferry::testing {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct x509_deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct bio_deleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

[[noreturn]] void fail(const std::string& what) {
  const unsigned long code = ERR_get_error();
  char text[256] = "no OpenSSL error";
  if (code != 0) {
    ERR_error_string_n(code, text, sizeof text);
  }
  throw std::runtime_error(fmt::format("tls_material: {}: {}", what, text));
}

void check(int ok, const std::string& what) {
  if (ok != 1) {
    fail(what);
  }
}

// What a certificate should look like; `issuer` empty means self-signed.
struct cert_spec {
  std::string common_name;
  bool is_ca = false;
  std::string subject_alt_names;    // X509v3 config syntax, e.g. "DNS:localhost,IP:127.0.0.1"
  std::string extended_key_usage;   // e.g. "serverAuth,clientAuth"; empty for CAs
  long not_before_seconds = -3600;  // relative to now; an hour back tolerates clock skew
  long not_after_seconds = 30L * 24 * 3600;
};

// An issued certificate together with its key, kept in memory to sign further certificates.
struct issued {
  pkey_ptr key;
  x509_ptr cert;
};

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) {
    fail(fmt::format("extension {}={}", OBJ_nid2sn(nid), value));
  }
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(added, "X509_add_ext");
}

issued make_cert(const cert_spec& spec, const issued* issuer) {
  issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  if (!out.key) {
    fail("EC key generation");
  }
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  check(X509_set_version(cert, X509_VERSION_3), "X509_set_version");
  // A random positive serial: reused serials from one issuer confuse some verifiers.
  BIGNUM* serial = BN_new();
  check(BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  ASN1_INTEGER* serial_asn1 = BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert));
  BN_free(serial);
  if (serial_asn1 == nullptr) {
    fail("serial number");
  }
  if (X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_seconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_seconds) == nullptr) {
    fail("validity");
  }
  check(X509_set_pubkey(cert, out.key.get()), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert);
  check(
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("ferry tests"), -1, -1, 0),
      "subject O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                   -1, -1, 0),
        "subject CN");
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  check(X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)), "issuer name");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert, cert, nullptr, nullptr, 0);
  add_extension(cert, &ctx, NID_subject_key_identifier, "hash");
  if (spec.is_ca) {
    add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_extension(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    add_extension(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_extension(cert, &ctx, NID_ext_key_usage, spec.extended_key_usage);
  }
  if (!spec.subject_alt_names.empty()) {
    add_extension(cert, &ctx, NID_subject_alt_name, spec.subject_alt_names);
  }
  if (X509_sign(cert, issuer_key, EVP_sha256()) == 0) {
    fail("X509_sign");
  }
  return out;
}

cert_files write_files(const issued& material, const std::filesystem::path& dir,
                       const std::string& stem) {
  cert_files files{dir / (stem + ".crt"), dir / (stem + ".key")};
  {
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new_file(files.cert.c_str(), "w"));
    if (!bio || PEM_write_bio_X509(bio.get(), material.cert.get()) != 1) {
      fail("write " + files.cert.string());
    }
  }
  {
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new_file(files.key.c_str(), "w"));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), material.key.get(), nullptr, nullptr, 0,
                                         nullptr, nullptr) != 1) {
      fail("write " + files.key.string());
    }
  }
  return files;
}

}  // namespace

tls_material::tls_material() : dir_("tls") {
  const std::string local_names = "DNS:localhost,IP:127.0.0.1";
  cert_spec ca_spec;
  ca_spec.common_name = "ferry test CA";
  ca_spec.is_ca = true;
  cert_spec other_ca_spec = ca_spec;
  other_ca_spec.common_name = "ferry other CA";
  cert_spec server_spec;
  server_spec.common_name = "localhost";
  server_spec.subject_alt_names = local_names;
  server_spec.extended_key_usage = "serverAuth,clientAuth";
  cert_spec client_spec;
  client_spec.common_name = "ferry-test-client";
  client_spec.extended_key_usage = "clientAuth";
  const issued ca = make_cert(ca_spec, nullptr);
  const issued other_ca = make_cert(other_ca_spec, nullptr);
  cert_spec expired_spec = server_spec;
  expired_spec.not_before_seconds = -10L * 24 * 3600;
  expired_spec.not_after_seconds = -1L * 24 * 3600;
  cert_spec wrong_host_spec = server_spec;
  wrong_host_spec.common_name = "wronghost.example";
  wrong_host_spec.subject_alt_names = "DNS:wronghost.example";

  const auto& dir = dir_.path();
  ca_ = write_files(ca, dir, "ca");
  other_ca_ = write_files(other_ca, dir, "other-ca");
  server_ = write_files(make_cert(server_spec, &ca), dir, "server");
  client_ = write_files(make_cert(client_spec, &ca), dir, "client");
  expired_server_ = write_files(make_cert(expired_spec, &ca), dir, "expired-server");
  wrong_host_server_ = write_files(make_cert(wrong_host_spec, &ca), dir, "wrong-host-server");
  other_ca_server_ = write_files(make_cert(server_spec, &other_ca), dir, "other-ca-server");
  other_ca_client_ = write_files(make_cert(client_spec, &other_ca), dir, "other-ca-client");
}

}  // namespace ferry::testing
