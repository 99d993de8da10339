#pragma once
// One redis-server process per object: free port, private temp dir, log file, killed and reaped
// on destruction. Standalone plain, TLS-only, or a cluster node (see redis_cluster.hpp); of the
// default version (the PATH's redis-server, Debian's 7.0) or a named one (server_versions.hpp),
// with only the options that version knows.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/server_versions.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {

class tls_material;

/// TLS settings of a TLS-only server (`--port 0 --tls-port P`).
struct server_tls {
  /// --tls-cert-file (also presented on cluster-bus and replication links).
  std::filesystem::path cert_file;
  /// --tls-key-file.
  std::filesystem::path key_file;
  /// --tls-ca-cert-file: verifies client certificates and peers; `client()` trusts it too.
  std::filesystem::path ca_file;
  /// --tls-auth-clients yes|no.
  bool auth_clients = false;
  /// Certificate the harness's own clients present (needed when `auth_clients`).
  std::filesystem::path client_cert_file;
  /// Key of `client_cert_file`.
  std::filesystem::path client_key_file;
  /// Host name in `url()` and the name `client()` verifies.
  std::string server_name = "localhost";
};

/// The usual good setup from `material`: server cert, trusted CA, and (when `auth_clients`)
/// the client certificate for the harness's clients.
server_tls make_server_tls(const tls_material& material, bool auth_clients = false);

/// How to start a server.
struct server_options {
  /// Which build: "" for the PATH's redis-server (Debian's 7.0), or a name from
  /// `known_server_versions()` ("5.0", "6.2", "7.0", "7.4", "valkey-8.0"). Starting one that is
  /// not on this machine throws; call FERRY_SKIP_UNLESS_SERVER(version) first.
  std::string version;
  /// TLS-only when set; plain TCP otherwise.
  std::optional<server_tls> tls;
  /// requirepass/masterauth (written to a config file, so it is not in the process list).
  std::string password;
  /// --maxmemory value such as "64mb"; unlimited when empty.
  std::string maxmemory;
  /// An RDB file to load at start (copied into the server's dir as its dump.rdb), e.g. one
  /// written by `save_rdb()` of a server of another version.
  std::filesystem::path rdb_file;
  /// Appended last, so they override the harness's defaults. They go to the server as they are:
  /// give only options its version knows (see `server_build`).
  std::vector<std::string> extra_args;
  /// --cluster-enabled yes with nodes.conf in the server's dir.
  bool cluster_enabled = false;
  /// --cluster-node-timeout (short, so failover tests are quick).
  int cluster_node_timeout_ms = 2000;
  /// Fixed port; 0 picks a free one (retrying on "address in use").
  std::uint16_t port = 0;
  /// Bound on "process started and answers PING".
  std::chrono::milliseconds start_timeout{10000};
  /// How many ports to try when another process grabs the chosen one first.
  int max_port_attempts = 10;
  /// Included in the temp dir's name, for finding logs of a failed run.
  std::string label = "redis";
};

/// Thrown when redis-server exits because its (fixed) port was taken in the meantime.
class port_in_use_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A running redis-server. Not movable: hold it by value or `std::unique_ptr`.
///
/// Create it on a thread that outlives it (normally the test's main thread): the process is
/// tied to the creating *thread* by PR_SET_PDEATHSIG and dies with it. Not thread-safe.
class redis_server {
 public:
  /// Starts the server and waits until it answers PING (verifying it is *our* process via
  /// INFO process_id); throws with the log tail on failure.
  explicit redis_server(server_options options = {});
  /// SIGKILLs and reaps the process, then removes its dir.
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  /// The client port (the TLS port for TLS servers).
  std::uint16_t port() const noexcept { return port_; }
  /// Pid of the current process, or of the last one after `stop()` (changes on `restart()`).
  pid_t pid() const noexcept { return process_.pid(); }
  /// True for a TLS-only server.
  bool tls() const noexcept { return options_.tls.has_value(); }
  /// `redis://[:pw@]127.0.0.1:P` or `rediss://[:pw@]localhost:P` (password percent-encoded).
  std::string url() const;
  /// Options for a client that verifies the server (CA, name, client cert) and AUTHs.
  client_options connect_options() const;
  /// A new client with `connect_options()`.
  sync_client client() const { return sync_client(connect_options()); }
  /// The options the server was started with (port filled in).
  const server_options& options() const noexcept { return options_; }
  /// The build it runs (its version and what that version knows).
  const server_build& build() const noexcept { return build_; }
  /// The server's private dir (--dir, log, config).
  const std::filesystem::path& dir() const noexcept { return dir_.path(); }
  /// stdout/stderr of the server.
  std::filesystem::path log_file() const { return dir_ / "redis.log"; }
  /// Last lines of the log, for failure messages.
  std::string log_tail(std::size_t lines = 30) const { return file_tail(log_file(), lines); }

  /// True while the process has not exited (a paused server is running).
  bool running() { return process_.running(); }
  /// Sends `signal_number`; for SIGKILL also reaps the process.
  void kill(int signal_number);
  /// SIGSTOP: the server stops answering but keeps its sockets.
  void pause();
  /// SIGCONT after `pause()`.
  void resume();
  /// Waits up to `timeout` for the process to exit (e.g. after SIGTERM or SHUTDOWN).
  bool wait_exit(std::chrono::milliseconds timeout) { return process_.wait_exit(timeout); }
  /// SIGKILL and reap (idempotent).
  void stop();
  /// Stops if running and starts again on the same port and dir (a cluster node keeps its
  /// nodes.conf, hence its identity; data is gone unless `save_rdb()` saved it, since the
  /// server itself never saves).
  void restart();

  /// Writes the dataset to an RDB file with BGSAVE and waits (up to `timeout`) until the file is
  /// complete; returns its path (dir()/dump.rdb). Throws when the save fails or takes too long.
  std::filesystem::path save_rdb(std::chrono::milliseconds timeout = std::chrono::seconds{60});

 private:
  void launch();
  void wait_until_ready(std::uintmax_t log_offset);
  std::vector<std::string> command_line() const;

  server_options options_;
  server_build build_;
  std::uint16_t port_ = 0;
  temp_dir dir_;  // declared before process_: the process dies before its dir goes
  child_process process_;
};

/// INFO field `name` ("cluster_state", "role", ...) from an INFO reply text; empty if absent.
std::string info_field(const std::string& info, const std::string& name);

}  // namespace ferry::testing
