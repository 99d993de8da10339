// Connections that sit idle when an access token is renewed move to the new token too: a copy
// slowed to a trickle keeps connections open that send nothing for many seconds (the scanner
// waits for the readers; readers and writers wait for the rate limiter), and every one of them
// must AUTH with the renewed token within seconds, long before the old one would expire. The
// renewed token names another object id, so CLIENT LIST on each server shows which token every
// connection last authenticated with.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/acl_rules.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

/// How many of the server's clients are logged in as `user` (CLIENT LIST's user= field).
std::size_t clients_of(sync_client& admin, const std::string& user) {
  std::istringstream list(admin.checked({"CLIENT", "LIST"}).str);
  std::size_t n = 0;
  for (std::string line; std::getline(list, line);) {
    if (line.find(" user=" + user + " ") != std::string::npos) ++n;
  }
  return n;
}

TEST(token_idle, idle_connections_authenticate_with_a_renewed_token_within_seconds) {
  temp_dir dir("token-idle");
  const std::string admin_password = "Admin-Only-k4Ry";
  server_options options;
  options.password = admin_password;
  redis_server source(options);
  redis_server target(options);
  sync_client source_admin = source.client();
  sync_client target_admin = target.client();
  fill_strings(source_admin, 3'000, 20, 5);

  const auto expires = std::chrono::system_clock::now() + 1h;
  const std::string first = make_token(expires, "7a1b2c3d-first-oid", "first");
  const std::string renewed = make_token(expires, "8e9f0a1b-renewed-oid", "renewed");
  for (const auto& [oid, token] :
       {std::pair{"7a1b2c3d-first-oid", first}, std::pair{"8e9f0a1b-renewed-oid", renewed}}) {
    add_user(source_admin, oid, token, source_rules_copy());
    add_user(target_admin, oid, token, target_rules_copy());
  }
  const auto token_file = dir / "token.jwt";
  write_file_atomically(token_file, first);

  // 20 keys a second: SCAN hands out 1,000 keys at a time, so the scanner's connection then
  // waits about 50 s for its next SCAN.
  ferry_process ferry({"copy", "--source", source.url(), "--target", target.url(), "--progress",
                       "never", "--source-token-file", token_file.string(), "--target-token-file",
                       token_file.string(), "--max-keys-per-sec", "20"},
                      dir.path());
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(ferry.running()) << ferry.err_so_far();
  const std::size_t source_clients = clients_of(source_admin, "7a1b2c3d-first-oid");
  ASSERT_GE(source_clients, 2u) << "the scanner and the readers should be connected";
  ASSERT_GE(clients_of(target_admin, "7a1b2c3d-first-oid"), 1u);

  write_file_atomically(token_file, renewed);
  // The file is looked at every second at most, and idle links are swept every second.
  const auto deadline = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < deadline &&
         clients_of(source_admin, "7a1b2c3d-first-oid") +
                 clients_of(target_admin, "7a1b2c3d-first-oid") !=
             0) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(clients_of(source_admin, "7a1b2c3d-first-oid"), 0u)
      << source_admin.checked({"CLIENT", "LIST"}).str;
  EXPECT_EQ(clients_of(target_admin, "7a1b2c3d-first-oid"), 0u)
      << target_admin.checked({"CLIENT", "LIST"}).str;
  // Moved over by AUTH on the open connections, not by new ones.
  EXPECT_GE(clients_of(source_admin, "8e9f0a1b-renewed-oid"), source_clients);
  EXPECT_THAT(ferry.err_so_far(), ::testing::HasSubstr("renewed the access token"));

  // A drain writes what was read and leaves the keys scanned but not read for the next run, so
  // it does not wait for the rate limiter to let ~1,000 scanned keys through.
  ferry.signal(SIGINT);
  const ferry_result run = ferry.wait(10s);
  EXPECT_EQ(run.exit_code, 3) << run.output();
}

}  // namespace
}  // namespace ferry::testing
