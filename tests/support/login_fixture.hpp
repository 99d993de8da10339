#pragma once
// The fixture of the login tests (auth_tls_test, token_copy_test): a temp dir, TLS material, TLS
// servers, the arguments of a copy that trusts the test CA, and a check that a secret is nowhere
// in ferry's output.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/auth_support.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tls_material.hpp"

namespace ferry::testing {

class login_fixture : public ::testing::Test {
 protected:
  temp_dir dir_{"login"};
  tls_material tls_;

  /// A TLS-only server presenting `cert`.
  server_options tls_server(const cert_files& cert) const {
    server_options options;
    options.tls = make_server_tls(tls_);
    options.tls->cert_file = cert.cert;
    options.tls->key_file = cert.key;
    return options;
  }
  std::vector<std::string> copy_args(const std::string& source, const std::string& target) const {
    return {"copy",
            "--source",
            source,
            "--target",
            target,
            "--cacert",
            tls_.ca().cert.string(),
            "--progress",
            "never",
            "--max-retry-time",
            "30"};
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto file = dir_ / name;
    std::ofstream(file) << text;
    return file;
  }
};

inline void expect_hidden(const ferry_result& result, const std::string& secret) {
  EXPECT_THAT(leaked_parts(result.out + result.err, secret), ::testing::IsEmpty())
      << result.output();
}

}  // namespace ferry::testing
