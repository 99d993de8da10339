#include "tests/support/redis_server.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "tests/support/tls_material.hpp"

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

std::string percent_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// A value in redis.conf syntax: double quotes, with backslash escapes for anything odd.
std::string conf_quote(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string read_from(const std::filesystem::path& file, std::uintmax_t offset) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

server_tls make_server_tls(const tls_material& material, bool auth_clients) {
  server_tls tls;
  tls.cert_file = material.server().cert;
  tls.key_file = material.server().key;
  tls.ca_file = material.ca().cert;
  tls.auth_clients = auth_clients;
  if (auth_clients) {
    tls.client_cert_file = material.client().cert;
    tls.client_key_file = material.client().key;
  }
  return tls;
}

std::string info_field(const std::string& info, const std::string& name) {
  std::istringstream lines(info);
  const std::string prefix = name + ":";
  for (std::string line; std::getline(lines, line);) {
    if (line.compare(0, prefix.size(), prefix) == 0) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      return line.substr(prefix.size());
    }
  }
  return {};
}

redis_server::redis_server(server_options options)
    : options_(std::move(options)),
      build_(require_server_build(options_.version)),
      dir_(options_.label) {
  if (options_.tls && !build_.has_tls()) {
    throw std::invalid_argument(fmt::format(
        "{} has no TLS: a TLS server needs Redis 6.0 or newer (check build().has_tls() first)",
        build_.description()));
  }
  if (!options_.rdb_file.empty()) {
    std::filesystem::copy_file(options_.rdb_file, dir_ / "dump.rdb",
                               std::filesystem::copy_options::overwrite_existing);
  }
  if (!options_.password.empty()) {
    // In a config file rather than argv so the password stays out of `ps` output.
    std::ofstream conf(dir_ / "redis.conf");
    conf << "requirepass " << conf_quote(options_.password) << '\n'
         << "masterauth " << conf_quote(options_.password) << '\n';
  }
  const bool fixed = options_.port != 0;
  const int attempts = fixed ? 1 : std::max(1, options_.max_port_attempts);
  std::string last_error;
  for (int attempt = 0; attempt < attempts; ++attempt) {
    port_ = fixed ? options_.port : pick_free_port(options_.cluster_enabled);
    try {
      launch();
      options_.port = port_;
      return;
    } catch (const port_in_use_error& e) {
      if (fixed) {
        throw;
      }
      last_error = e.what();
    }
  }
  throw std::runtime_error(
      fmt::format("redis-server: gave up after {} ports: {}", attempts, last_error));
}

redis_server::~redis_server() = default;  // child_process SIGKILLs and reaps

std::vector<std::string> redis_server::command_line() const {
  std::vector<std::string> argv{build_.server.string()};
  if (!options_.password.empty()) {
    argv.push_back((dir_ / "redis.conf").string());
  }
  const std::string port = std::to_string(port_);
  if (options_.tls) {
    const server_tls& tls = *options_.tls;
    argv.insert(argv.end(), {"--port", "0", "--tls-port", port, "--tls-cert-file",
                             tls.cert_file.string(), "--tls-key-file", tls.key_file.string(),
                             "--tls-ca-cert-file", tls.ca_file.string(), "--tls-auth-clients",
                             tls.auth_clients ? "yes" : "no", "--tls-replication", "yes"});
    if (options_.cluster_enabled) {
      argv.insert(argv.end(), {"--tls-cluster", "yes"});
    }
  } else {
    argv.insert(argv.end(), {"--port", port});
  }
  argv.insert(argv.end(), {"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                           dir_.path().string(), "--dbfilename", "dump.rdb", "--daemonize", "no",
                           // Replicas sync at once instead of waiting 5 s for more replicas.
                           "--repl-diskless-sync-delay", "0"});
  if (build_.has_enable_debug_command()) {
    // DEBUG DIGEST is the tests' oracle; before 7.0 DEBUG is always allowed (and the option
    // does not exist).
    argv.insert(argv.end(), {"--enable-debug-command", "yes"});
  }
  if (options_.cluster_enabled) {
    argv.insert(argv.end(),
                {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-node-timeout", std::to_string(options_.cluster_node_timeout_ms)});
  }
  if (!options_.maxmemory.empty()) {
    argv.insert(argv.end(), {"--maxmemory", options_.maxmemory});
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

void redis_server::launch() {
  std::error_code ignored;
  const std::uintmax_t log_offset =
      std::filesystem::exists(log_file()) ? std::filesystem::file_size(log_file(), ignored) : 0;
  process_ = child_process::spawn(command_line(), log_file());
  try {
    wait_until_ready(log_offset);
  } catch (...) {
    process_.kill_and_reap();
    throw;
  }
}

void redis_server::wait_until_ready(std::uintmax_t log_offset) {
  client_options probe;
  probe.port = port_;
  probe.password = options_.password;
  probe.timeout = 250ms;  // short: a stranger holding the port may accept and never answer
  if (options_.tls) {
    // The probe only asks "is it up and ours"; it must work for deliberately bad certificates.
    probe.tls = tls_client_options{.ca_file = {},
                                   .cert_file = options_.tls->client_cert_file,
                                   .key_file = options_.tls->client_key_file,
                                   .server_name = options_.tls->server_name,
                                   .verify = false};
  }
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  std::string last_problem = "no answer yet";
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_.running()) {
      const std::string log = read_from(log_file(), log_offset);
      const std::string message =
          fmt::format("redis-server on port {} exited during start ({}); log {}:\n{}", port_,
                      describe_exit_status(process_.exit_status().value_or(0)), log_file().string(),
                      file_tail(log_file()));
      if (log.find("Address already in use") != std::string::npos) {
        throw port_in_use_error(message);
      }
      throw std::runtime_error(message);
    }
    try {
      sync_client client(probe);
      const reply pong = client.command({"PING"});
      if (pong.kind == reply_kind::status && pong.str == "PONG") {
        const reply info = client.checked({"INFO", "server"});
        // Someone else's server on "our" port: ours will exit with "address in use" shortly.
        if (info_field(info.str, "process_id") == std::to_string(process_.pid())) {
          return;
        }
        last_problem = "another process answers on this port";
      } else {
        last_problem = to_string(pong);  // e.g. LOADING
      }
    } catch (const std::exception& e) {
      last_problem = e.what();
    }
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error(fmt::format(
      "redis-server on port {} did not answer PING within {} ms (last: {}); log {}:\n{}", port_,
      options_.start_timeout.count(), last_problem, log_file().string(), file_tail(log_file())));
}

std::string redis_server::url() const {
  const std::string auth = options_.password.empty()
                               ? std::string()
                               : fmt::format(":{}@", percent_encode(options_.password));
  if (options_.tls) {
    return fmt::format("rediss://{}{}:{}", auth, options_.tls->server_name, port_);
  }
  return fmt::format("redis://{}127.0.0.1:{}", auth, port_);
}

client_options redis_server::connect_options() const {
  client_options options;
  options.port = port_;
  options.password = options_.password;
  if (options_.tls) {
    options.tls = tls_client_options{.ca_file = options_.tls->ca_file,
                                     .cert_file = options_.tls->client_cert_file,
                                     .key_file = options_.tls->client_key_file,
                                     .server_name = options_.tls->server_name,
                                     .verify = true};
  }
  return options;
}

void redis_server::kill(int signal_number) {
  if (signal_number == SIGKILL) {
    process_.kill_and_reap();
  } else {
    process_.signal(signal_number);
  }
}

void redis_server::pause() { process_.signal(SIGSTOP); }

void redis_server::resume() { process_.signal(SIGCONT); }

void redis_server::stop() { process_.kill_and_reap(); }

void redis_server::restart() {
  stop();
  launch();
}

std::filesystem::path redis_server::save_rdb(std::chrono::milliseconds timeout) {
  const auto file = dir() / "dump.rdb";
  std::error_code ignored;
  std::filesystem::remove(file, ignored);  // the server renames its temp file here when done
  sync_client client(connect_options());
  const reply started = client.command({"BGSAVE"});
  if (started.is_error()) {
    throw std::runtime_error(fmt::format("BGSAVE on port {} refused: {}; log {}", port_,
                                         started.str, log_file().string()));
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string info = client.checked({"INFO", "persistence"}).str;
    if (info_field(info, "rdb_bgsave_in_progress") == "0" && std::filesystem::exists(file)) {
      if (info_field(info, "rdb_last_bgsave_status") != "ok") {
        throw std::runtime_error(fmt::format("BGSAVE on port {} failed; log {}:\n{}", port_,
                                             log_file().string(), log_tail()));
      }
      return file;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("BGSAVE on port {} not done within {} ms; log {}:\n{}",
                                           port_, timeout.count(), log_file().string(),
                                           log_tail()));
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace ferry::testing
