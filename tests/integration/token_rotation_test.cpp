// Microsoft Entra ID token rotation, simulated against real servers: each side's ACL user (the
// identity's object id) accepts short-lived JWT-shaped tokens as passwords. While a slowed-down
// copy runs across several token lifetimes, the test plays both the token sidecar and the
// server's enforcement:
//  - it writes a fresh token into each token file (atomically) and adds it to the ACL user
//    a few seconds before the current one expires;
//  - when a token expires, it removes it from the ACL user (so any AUTH with it fails, and ferry
//    would stop) and kills every connection that has not AUTHed since the newer token was
//    published, as Azure Managed Redis drops connections whose token has expired.
// The copy must end exactly, and MONITOR must show connections that stayed open across
// rotations and AUTHed again on the way.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/acl_rules.hpp"
#include "tests/support/auth_support.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/redis_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;
using wall = std::chrono::system_clock;
using ::testing::HasSubstr;

/// Seconds since the epoch, as MONITOR stamps commands.
double epoch_seconds(wall::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

/// Every AUTH a server runs, with its time and client address, read from MONITOR (which shows
/// AUTH with its arguments redacted).
class auth_monitor {
 public:
  auth_monitor(std::uint16_t port, const std::string& admin_password) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("monitor: cannot connect");
    }
    const std::string hello =
        fmt::format("*2\r\n$4\r\nAUTH\r\n${}\r\n{}\r\n*1\r\n$7\r\nMONITOR\r\n",
                    admin_password.size(), admin_password);
    if (::write(fd_, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) {
      throw std::runtime_error("monitor: cannot write");
    }
    thread_ = std::thread([this] { read_lines(); });
  }
  ~auth_monitor() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  auth_monitor(const auth_monitor&) = delete;
  auth_monitor& operator=(const auth_monitor&) = delete;

  /// One AUTH: when (server clock, seconds) and from which client address.
  struct auth {
    double at = 0;
    std::string addr;
  };
  /// Every AUTH so far.
  std::vector<auth> auths() const {
    std::lock_guard lock(mutex_);
    return auths_;
  }

 private:
  void read_lines() {
    std::string buffer;
    char chunk[65536];
    for (;;) {
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::size_t start = 0;
      for (auto end = buffer.find("\r\n"); end != std::string::npos;
           end = buffer.find("\r\n", start)) {
        parse(std::string_view(buffer).substr(start, end - start));
        start = end + 2;
      }
      buffer.erase(0, start);
    }
  }
  void parse(std::string_view line) {
    // +1700000000.123456 [0 127.0.0.1:51010] "AUTH" "(redacted)" "(redacted)"
    if (line.size() < 2 || line[0] != '+') return;
    const auto open = line.find(" [");
    const auto close = line.find("] \"");
    if (open == std::string_view::npos || close == std::string_view::npos) return;
    const auto command = line.substr(close + 3, line.find('"', close + 3) - close - 3);
    if (command.size() != 4 || (command[0] != 'A' && command[0] != 'a') ||
        (command[1] != 'U' && command[1] != 'u')) {
      return;
    }
    const auto inside = line.substr(open + 2, close - open - 2);  // "0 127.0.0.1:51010"
    auth event;
    event.at = std::strtod(std::string(line.substr(1, open - 1)).c_str(), nullptr);
    event.addr = std::string(inside.substr(inside.find(' ') + 1));
    std::lock_guard lock(mutex_);
    auths_.push_back(std::move(event));
  }

  int fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<auth> auths_;
};

/// One side of the copy with its identity, its tokens and the enforcement the server would do.
struct token_side {
  std::string role;
  std::string oid;
  std::unique_ptr<redis_server> server;
  std::unique_ptr<sync_client> admin;
  std::unique_ptr<auth_monitor> monitor;
  std::filesystem::path token_file;
  /// Tokens in order of issue; `tokens[k]` expires at `expiry[k]`.
  std::vector<std::string> tokens;
  std::vector<wall::time_point> expiry;
  /// When each token was published (seconds since the epoch, like MONITOR's stamps).
  std::vector<double> published;
  /// Client addresses killed for still using an expired token.
  std::set<std::string> killed;
  /// Kill rounds done while ferry ran.
  int rounds = 0;
  /// Addresses of ferry's connections seen by the kill rounds (CLIENT LIST, user = the oid).
  std::set<std::string> ferry_clients;

  void publish(const std::string& token, wall::time_point expires) {
    // The server first, then the file: a token is good before anyone can read it.
    admin->checked({"ACL", "SETUSER", oid, ">" + token});
    write_file_atomically(token_file, token + "\n");
    published.push_back(epoch_seconds(wall::now()));
    tokens.push_back(token);
    expiry.push_back(expires);
  }

  /// Token `k` has expired: refuse it from now on, and drop the connections still using it.
  /// A connection whose last AUTH came before token `k + 1` was published cannot be using it;
  /// one that AUTHed after may have used token `k` only in the moment before ferry noticed the
  /// new file (a fraction of a second), so this never drops a connection on the newest token.
  void expire(std::size_t k) {
    admin->checked({"ACL", "SETUSER", oid, "<" + tokens[k]});
    std::map<std::string, double> last_auth;
    for (const auto& a : monitor->auths()) {
      last_auth[a.addr] = std::max(last_auth[a.addr], a.at);
    }
    std::istringstream clients(admin->checked({"CLIENT", "LIST"}).str);
    for (std::string line; std::getline(clients, line);) {
      if (line.find(" user=" + oid + " ") == std::string::npos) continue;
      const auto id = line.substr(3, line.find(' ') - 3);
      const auto addr_at = line.find(" addr=") + 6;
      const auto addr = line.substr(addr_at, line.find(' ', addr_at) - addr_at);
      ferry_clients.insert(addr);
      const auto seen = last_auth.find(addr);
      if (seen == last_auth.end() || seen->second < published[k + 1]) {
        admin->command({"CLIENT", "KILL", "ID", id});
        killed.insert(addr);
      }
    }
    ++rounds;
  }

  /// ferry's connections that were seen open by a kill round and never killed, and how many
  /// AUTHs each sent (1 = never re-AUTHed).
  std::map<std::string, int> survivors() const {
    std::map<std::string, int> count;
    for (const auto& a : monitor->auths()) {
      if (killed.count(a.addr) == 0 && ferry_clients.count(a.addr) != 0) ++count[a.addr];
    }
    return count;
  }
};

/// The sidecar and the server's enforcement of token lifetimes, for both sides at once.
class token_play {
 public:
  token_play(std::vector<token_side*> sides, std::chrono::seconds lifetime,
             std::chrono::milliseconds renew_before)
      : sides_(std::move(sides)), lifetime_(lifetime), renew_before_(renew_before) {}

  /// Publishes the first token of every side.
  void start() {
    const auto expires = wall::now() + lifetime_;
    for (token_side* side : sides_) {
      side->publish(make_token(expires, side->oid, side->role + "-1"), expires);
    }
  }

  /// Renews and expires tokens until `ferry` exits (or 150 s pass); its result.
  ferry_result run_until_done(ferry_process& ferry) {
    const auto started = wall::now();
    while (ferry.running() && wall::now() - started < 150s) {
      step();
      std::this_thread::sleep_for(50ms);
    }
    return ferry.wait(10s);
  }

  /// Kill rounds so far (the same on every side).
  int rounds() const { return sides_.front()->rounds; }

 private:
  void step() {
    const auto now = wall::now();
    const token_side& first = *sides_.front();
    if (now >= first.expiry.back() - renew_before_) {
      const auto expires = now + lifetime_;
      for (token_side* side : sides_) {
        side->publish(make_token(expires, side->oid,
                                 fmt::format("{}-{}", side->role, side->tokens.size() + 1)),
                      expires);
      }
    }
    if (next_expiry_ + 1 < first.tokens.size() && now >= first.expiry[next_expiry_] + 300ms) {
      for (token_side* side : sides_) side->expire(next_expiry_);
      ++next_expiry_;
    }
  }

  std::vector<token_side*> sides_;
  std::chrono::seconds lifetime_;
  std::chrono::milliseconds renew_before_;
  std::size_t next_expiry_ = 0;
};

/// Connections that stayed open (never killed, seen by a kill round) and AUTHed at least twice,
/// and the most AUTHs one of them sent; printed for the record.
std::pair<int, int> report_reauths(const token_side& side, const std::string& phase) {
  const auto survivors = side.survivors();
  int reauthed = 0, most = 0;
  for (const auto& [addr, auths] : survivors) {
    if (auths >= 2) ++reauthed;
    most = std::max(most, auths);
  }
  std::cout << fmt::format(
      "{} after {}: {} tokens, {} kill rounds, {} connections killed, {} ferry connections never "
      "killed of which {} re-AUTHed (most AUTHs on one connection: {}); cmdstat_auth calls={}\n",
      side.role, phase, side.tokens.size(), side.rounds, side.killed.size(), survivors.size(),
      reauthed, most, command_calls(*side.admin, "auth"));
  return {reauthed, most};
}

TEST(token_rotation, copy_and_verify_across_token_lifetimes_re_auth_open_connections) {
  temp_dir dir("token-rotation");
  const auto lifetime = 6s;  // of each token
  const std::string admin_password = "Admin-Pw-Rt6y";

  token_side source;
  source.role = "source";
  source.oid = "1d7c2e0f-0000-4a1b-9c3d-50a1ce000001";
  token_side target;
  target.role = "target";
  target.oid = "9e8f7a6b-0000-4c2d-8e1f-7a46e7000002";
  std::vector<token_side*> sides{&source, &target};
  for (token_side* side : sides) {
    server_options options;
    options.password = admin_password;
    options.label = side->role;
    side->server = std::make_unique<redis_server>(options);
    side->admin = std::make_unique<sync_client>(side->server->client());
    // The documented minimal rules for copy and verify (the README), no password yet.
    add_user(*side->admin, side->oid, "",
             joined(side->role == "source" ? source_rules_copy() : target_rules_copy(),
                    both_rules_verify()));
    side->monitor = std::make_unique<auth_monitor>(side->server->port(), admin_password);
    side->token_file = dir / (side->role + ".jwt");
  }
  // The sidecar writes the next token 2.5 s before the current one expires; ferry looks for it
  // from 2 to 2.5 s (margin plus jitter) before.
  token_play play(sides, lifetime, 2500ms);
  play.start();

  dataset_options data;
  data.count_per_kind = 8;
  fill_every_type(*source.admin, data);
  fill_strings(*source.admin, 1'400, 40, 11);

  // Slow the source down for verify (which has no rate limit) and the copy alike: it sleeps
  // 20 ms at a time, and serves ferry's pipelines in between.
  std::atomic<bool> slowing{true};
  std::thread slow([&] {
    sync_client sleeper = source.server->client();
    while (slowing.load()) sleeper.command({"DEBUG", "SLEEP", "0.02"});
  });
  const auto args = [&](const std::string& command, const std::string& batch) {
    return std::vector<std::string>{
        command,
        "--source",
        "redis://" + source.oid + "@127.0.0.1:" + std::to_string(source.server->port()),
        "--target",
        "redis://127.0.0.1:" + std::to_string(target.server->port()),
        "--source-token-file",
        source.token_file.string(),
        "--target-token-file",
        target.token_file.string(),
        "--token-refresh-margin",
        "2",
        "--batch-keys",
        batch,
        "--scan-count",
        "300",
        "--progress",
        "never"};
  };

  auto copy_args = args("copy", "1");
  // Rate-limited: 1,500 keys at 100 keys/s take more than two token lifetimes.
  copy_args.insert(copy_args.end(),
                   {"--readers", "2", "--writers", "2", "--max-keys-per-sec", "100"});
  ferry_process copy(copy_args, dir.path());
  const ferry_result copied = play.run_until_done(copy);
  const int copy_rounds = play.rounds();
  std::vector<std::pair<int, int>> after_copy;
  for (token_side* side : sides) after_copy.push_back(report_reauths(*side, "copy"));
  for (token_side* side : sides) side->ferry_clients.clear();  // judge verify's on their own

  ferry_process verify(args("verify", "2"), dir.path());
  const ferry_result verified = play.run_until_done(verify);
  const int verify_rounds = play.rounds() - copy_rounds;
  slowing = false;
  slow.join();
  std::vector<std::pair<int, int>> after_verify;
  for (token_side* side : sides) after_verify.push_back(report_reauths(*side, "verify"));
  std::cout << fmt::format("copy ran {:.1f} s over {} token expiries, verify {:.1f} s over {}\n",
                           copied.seconds, copy_rounds, verified.seconds, verify_rounds)
            << copied.err << verified.err;

  ASSERT_EQ(copied.exit_code, 0) << copied.output();
  EXPECT_EQ(diff_keyspaces(dump_keyspace(*source.admin), dump_keyspace(*target.admin)), "");
  EXPECT_EQ(debug_digest(*source.admin), debug_digest(*target.admin));
  EXPECT_EQ(verified.exit_code, 0) << verified.output();

  // The copy ran across at least two token lifetimes, with old tokens refused and their
  // connections dropped at least twice; verify across at least one.
  EXPECT_GE(copied.seconds, 2 * std::chrono::duration<double>(lifetime).count());
  EXPECT_GE(copy_rounds, 2);
  EXPECT_GE(verify_rounds, 1);
  // verify's source connections (kept busy by the slow source) AUTHed again too; its target
  // connections may sit idle through a whole token lifetime while the source is slow, and are
  // then dropped and reopened with the current token, which verify's clean result shows.
  EXPECT_GE(after_verify[0].first, 1);
  for (std::size_t i = 0; i < sides.size(); ++i) {
    SCOPED_TRACE(sides[i]->role);
    // Connections that stayed open AUTHed again with each new token.
    EXPECT_GE(after_copy[i].first, 1);
    EXPECT_GE(after_copy[i].second, 3);
    // ferry said what it did, without the tokens.
    EXPECT_THAT(copied.err,
                HasSubstr("renewed the access token from the " + sides[i]->role + " token file"));
    for (const auto& token : sides[i]->tokens) {
      const std::string own = token.substr(token.find('.') + 1);
      EXPECT_THAT(leaked_parts(copied.out + copied.err + verified.out + verified.err, own),
                  ::testing::IsEmpty());
    }
  }
}

}  // namespace
}  // namespace ferry::testing
