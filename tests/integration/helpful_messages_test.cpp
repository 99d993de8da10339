// Messages that name what failed, where, and what to do next: a refused connection, a web
// server at the Redis port, a missing ACL rule, a replica as target, a source without
// PEXPIRETIME (which ferry works around), damaged and missing state files, and a source that
// dies mid-copy (within --max-retry-time, with the --resume hint).

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/support/acl_rules.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/exact_copy.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

/// A loopback TCP server that answers whatever it is sent with an HTTP 400 page, as a web server
/// at the wrong port would. Stops in its destructor.
class http_impostor {
 public:
  http_impostor() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 8) != 0) {
      throw std::runtime_error("http_impostor: cannot listen");
    }
    socklen_t size = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      for (int served = 0; served < 50 && !stop_; ++served) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        char buffer[512];
        (void)::read(client, buffer, sizeof buffer);
        const std::string answer =
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 22\r\n"
            "Connection: close\r\n\r\n<html>bad request</html>";
        (void)::write(client, answer.data(), answer.size());
        ::close(client);
      }
    });
  }
  ~http_impostor() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// A loopback port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> copy(const std::string& source, const std::string& target,
                              std::vector<std::string> extra = {}) {
  std::vector<std::string> all{"copy", "--source",   source, "--target",
                               target, "--progress", "never"};
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

TEST(helpful_messages, a_refused_connection_names_the_side_the_address_and_what_to_check) {
  redis_server target;
  const std::uint16_t port = closed_port();
  const ferry_result run = run_ferry(
      copy("redis://127.0.0.1:" + std::to_string(port), target.url(), {"--max-retry-time", "1"}),
      30s);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("source"));
  EXPECT_THAT(run.err, HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(run.err, HasSubstr("nothing listens on that port"));
}

TEST(helpful_messages, a_web_server_at_the_redis_port_is_recognised) {
  redis_server target;
  http_impostor web;
  const ferry_result run =
      run_ferry(copy("redis://127.0.0.1:" + std::to_string(web.port()), target.url()), 30s);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("answered with HTTP"));
  // Before the fix: "it most likely expects TLS".
  EXPECT_THAT(run.err, Not(HasSubstr("expects TLS")));
}

TEST(helpful_messages, a_missing_acl_rule_is_named) {
  redis_server source;
  redis_server target;
  sync_client admin = source.client();
  fill_strings(admin, 100, 10, 1);
  admin.checked({"HSET", "a-hash", "f", "v"});  // strings go by GET; a hash needs DUMP
  std::vector<std::string> rules;
  for (const auto& rule : source_rules_copy()) {
    if (rule != "+dump") rules.push_back(rule);
  }
  add_user(admin, "no-dump", "No-Dump-Pw-1", rules);
  const ferry_result run = run_ferry(
      copy("redis://no-dump:No-Dump-Pw-1@127.0.0.1:" + std::to_string(source.port()), target.url()),
      30s);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("add +dump"));
}

TEST(helpful_messages, a_replica_as_target_is_called_a_replica) {
  redis_server source;
  redis_server master;
  server_options replica_options;
  replica_options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(master.port())};
  redis_server replica(replica_options);
  sync_client source_client = source.client();
  fill_strings(source_client, 100, 10, 2);
  const ferry_result run = run_ferry(copy(source.url(), replica.url()), 30s);
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("read-only replica"));
}

TEST(helpful_messages, a_source_without_pexpiretime_is_read_with_pttl) {
  // A user that may not run PEXPIRETIME (as the README's rules for 7.x give on a 6.2 server, or
  // a service that disables it): ferry falls back to PTTL instead of stopping.
  redis_server source;
  redis_server target;
  sync_client admin = source.client();
  fill_strings(admin, 2'000, 20, 4);
  const std::int64_t soon = std::stoll(admin.checked({"TIME"}).elements[0].str) * 1000 + 3600000;
  for (int i = 0; i < 50; ++i) {
    admin.checked({"SET", "ttl:" + std::to_string(i), "v", "PXAT", std::to_string(soon + i)});
  }
  std::vector<std::string> rules;
  for (const auto& rule : source_rules_copy()) {
    if (rule != "+pexpiretime") rules.push_back(rule);
  }
  add_user(admin, "no-pexpiretime", "Pw-NoPxt-2", rules);
  const ferry_result run =
      run_ferry(copy("redis://no-pexpiretime:Pw-NoPxt-2@127.0.0.1:" + std::to_string(source.port()),
                     target.url()),
                60s);
  // Before the fix: "DUMP refused: NOPERM ... 'pexpiretime' ...", exit 2.
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_THAT(run.err, HasSubstr("PTTL"));
  sync_client target_client = target.client();
  EXPECT_EQ(target_client.checked({"DBSIZE"}).integer, admin.checked({"DBSIZE"}).integer);
  for (int i = 0; i < 50; ++i) {
    const std::string key = "ttl:" + std::to_string(i);
    const auto copied = target_client.checked({"PEXPIRETIME", key}).integer;
    // PTTL is made absolute at the moment of the read: within a few milliseconds.
    EXPECT_NEAR(static_cast<double>(copied), static_cast<double>(soon + i), 50) << key;
  }

  // Renamed away entirely: the same fallback.
  server_options renamed;
  renamed.extra_args = {"--rename-command", "PEXPIRETIME", ""};
  redis_server hidden(renamed);
  redis_server other_target;
  sync_client hidden_client = hidden.client();
  fill_strings(hidden_client, 500, 20, 5);
  const ferry_result renamed_run = run_ferry(copy(hidden.url(), other_target.url()), 60s);
  ASSERT_EQ(renamed_run.exit_code, 0) << renamed_run.output();
  EXPECT_THAT(renamed_run.err, HasSubstr("PTTL"));
  EXPECT_EQ(other_target.client().checked({"DBSIZE"}).integer, 500);
}

TEST(helpful_messages, damaged_and_missing_state_files_say_what_to_do) {
  temp_dir dir("messages-state");
  redis_server source;
  redis_server target;
  const auto state = (dir / "state.json").string();
  std::ofstream(state) << R"({"version": 2, "job": {}})";
  const ferry_result damaged =
      run_ferry(copy(source.url(), target.url(), {"--state", state, "--resume"}), 30s);
  EXPECT_EQ(damaged.exit_code, 2) << damaged.output();
  EXPECT_THAT(damaged.err, Not(HasSubstr("json.exception")));
  EXPECT_THAT(damaged.err, HasSubstr("is missing"));
  EXPECT_THAT(damaged.err, HasSubstr("without --resume"));

  const ferry_result missing = run_ferry(
      copy(source.url(), target.url(), {"--state", (dir / "none.json").string(), "--resume"}), 30s);
  EXPECT_EQ(missing.exit_code, 2) << missing.output();
  EXPECT_THAT(missing.err, HasSubstr("does not exist: run the same command without --resume"));
}

TEST(helpful_messages, a_source_that_dies_gives_up_within_the_retry_time_and_says_resume) {
  temp_dir dir("messages-died");
  redis_server source;
  redis_server target;
  sync_client source_client = source.client();
  fill_strings(source_client, 40'000, 50, 3);
  ferry_process ferry(copy(source.url(), target.url(),
                           {"--state", (dir / "state.json").string(), "--max-keys-per-sec", "5000",
                            "--max-retry-time", "5"}),
                      dir.path());
  std::this_thread::sleep_for(1s);
  source.stop();
  const auto killed = std::chrono::steady_clock::now();
  const ferry_result run = ferry.wait(60s);
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_EQ(run.exit_code, 2) << run.output();
  EXPECT_THAT(run.err, HasSubstr("--resume"));
  // Before the fix: 8.8 s for --max-retry-time 5 (the last backoff delay overshot it).
  EXPECT_LT(took, 7500ms) << std::chrono::duration<double>(took).count() << " s";
}

}  // namespace
}  // namespace ferry::testing
