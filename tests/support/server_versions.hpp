#pragma once
// Which redis-server (or valkey-server) build a test runs, and what that version knows.
//
// A build is named by its version: "5.0", "6.2", "7.0", "7.4", "valkey-8.0" ("" is the default:
// the `redis-server` in PATH, Debian's 7.0). Named builds are looked up in folders laid out like
// ../shared/servers (see its README): DIR/redis-5.0.14/bin/redis-server,
// DIR/valkey-8.0.1/bin/valkey-server, ... The folders searched are those in $FERRY_TEST_SERVERS
// (colon-separated), then the one compiled in (CMake's FERRY_TEST_SERVERS_DIR, by default the
// `shared/servers` folder beside the source tree). "7.0" falls back to the PATH's redis-server
// when that is a 7.0. A test that needs a build it cannot find skips with a line saying which
// and where it looked (FERRY_SKIP_UNLESS_SERVER).

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ferry::testing {

/// A server build found on this machine.
struct server_build {
  /// The name it was asked for ("7.4", "valkey-8.0"; "" for the default).
  std::string name;
  /// "Redis" or "Valkey".
  std::string product;
  /// Its own version ("7.4.1"), from `--version`.
  std::string version;
  /// The server executable.
  std::filesystem::path server;
  /// Its command-line client (redis-cli or valkey-cli); empty when the folder has none.
  std::filesystem::path cli;
  /// The Redis version it behaves as (Valkey 8.0 is Redis 7.2 to its clients): major.
  int redis_major = 0;
  /// The Redis version it behaves as: minor.
  int redis_minor = 0;

  /// True when it behaves as Redis `major`.`minor` or newer.
  bool at_least(int major, int minor) const noexcept {
    return redis_major > major || (redis_major == major && redis_minor >= minor);
  }
  /// True for Valkey.
  bool valkey() const { return product == "Valkey"; }
  /// TLS (tls-port ...): Redis 6.0 on (the builds are made with BUILD_TLS=yes).
  bool has_tls() const noexcept { return at_least(6, 0); }
  /// ACL users (`AUTH user password`): Redis 6.0 on.
  bool has_acl() const noexcept { return at_least(6, 0); }
  /// The enable-debug-command option (DEBUG is refused unless it is set): Redis 7.0 on; older
  /// versions allow DEBUG without it.
  bool has_enable_debug_command() const noexcept { return at_least(7, 0); }
  /// The cluster-port option: Redis 7.0 on; older versions use port + 10000 for the bus.
  bool has_cluster_port() const noexcept { return at_least(7, 0); }
  /// CLUSTER ADDSLOTSRANGE, CLUSTER SHARDS, PEXPIRETIME: Redis 7.0 on.
  bool has_redis7_commands() const noexcept { return at_least(7, 0); }
  /// The RDB format version its DUMP payloads and RDB files carry.
  int rdb_version() const noexcept;
  /// "Redis 7.4.1", "Valkey 8.0.1".
  std::string description() const { return product + " " + version; }
};

/// The named builds the harness knows, oldest first: "5.0", "6.2", "7.0", "7.4", "valkey-8.0".
const std::vector<std::string>& known_server_versions();

/// The folders searched for named builds, in order ($FERRY_TEST_SERVERS, then the built-in one).
std::vector<std::filesystem::path> server_search_dirs();

/// The build called `name`, or nothing when it is not on this machine. Throws
/// `std::invalid_argument` for a name that is not a version ("7", "redis").
std::optional<server_build> find_server_build(const std::string& name);

/// The build called `name`; throws `std::runtime_error` with `server_missing_message` when absent.
server_build require_server_build(const std::string& name);

/// "Redis 7.4 not found under DIR[, DIR]; set FERRY_TEST_SERVERS=DIR with
/// DIR/redis-7.4.<patch>/bin/redis-server (see tests/README or ../shared/servers/README.md)".
std::string server_missing_message(const std::string& name);

}  // namespace ferry::testing

/// In a test body or SetUp(): skips the test unless build `name` is available. GoogleTest prints
/// the reason ("skipped: Redis 7.4 not found under ...; set FERRY_TEST_SERVERS=...") and ctest
/// counts the test as skipped, not passed.
#define FERRY_SKIP_UNLESS_SERVER(name)                                  \
  do {                                                                  \
    if (!::ferry::testing::find_server_build(name)) {                   \
      const std::string ferry_skip_why =                                \
          "skipped: " + ::ferry::testing::server_missing_message(name); \
      GTEST_SKIP() << ferry_skip_why;                                   \
    }                                                                   \
  } while (false)
