#include "cli/common/side_options.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "engine/auth/credentials.hpp"
#include "protocol/wire/endpoint.hpp"

namespace ferry::cli {
namespace {

void add_side(CLI::App& command, side_flags& side, const std::string& name,
              const std::string& description) {
  command.add_option("--" + name, side.url, description)->required()->type_name("URL");
  command
      .add_option("--" + name + "-db", side.db,
                  "Database number on the " + name + " (overrides the URL's /db; default 0)")
      ->check(CLI::Range(0, 1 << 20))
      ->type_name("N");
  command
      .add_option("--" + name + "-cacert", side.cacert,
                  "PEM file of CAs trusted for the " + name + " (overrides --cacert)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command
      .add_option("--" + name + "-cert", side.cert,
                  "Client certificate for the " + name + " (overrides --cert)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command
      .add_option("--" + name + "-key", side.key,
                  "Client private key for the " + name + " (overrides --key)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command
      .add_option("--" + name + "-tls-server-name", side.server_name,
                  "Name to expect in the " + name +
                      "'s certificate and to send as SNI, when it differs from the host")
      ->type_name("NAME");
  command
      .add_option("--" + name + "-user", side.user,
                  "ACL user for the " + name + " (overrides the URL's user)")
      ->type_name("USER");
  command
      .add_option("--" + name + "-password-file", side.password_file,
                  "File holding the " + name + "'s password (first line); see also FERRY_" +
                      (name == "source" ? std::string("SOURCE") : std::string("TARGET")) +
                      "_PASSWORD")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command
      .add_option("--" + name + "-token-file", side.token_file,
                  "File holding a Microsoft Entra ID access token for the " + name +
                      ", kept fresh by something else (the Azure CLI, a managed identity "
                      "sidecar); ferry re-reads it when it changes and before the token "
                      "expires, and every open connection AUTHs again with the new one. The "
                      "user is the identity's object id (--" +
                      name + "-user, the URL's user, or the token's oid claim)")
      ->type_name("FILE");
  command
      .add_option("--" + name + "-token-command", side.token_command,
                  "Command (run with /bin/sh -c) that prints a Microsoft Entra ID access "
                  "token for the " +
                      name +
                      ", e.g. \"az account get-access-token --resource https://redis.azure.com "
                      "--query accessToken -o tsv\"; run again before each token expires")
      ->type_name("CMD");
  command.add_flag("--" + name + "-insecure", side.insecure,
                   "Do not verify the " + name + "'s TLS certificate (see --insecure)");
}

/// Reads the first line of a password file into `line`; the error says why it cannot be used.
boost::system::result<void, std::string> read_first_line(const std::string& path, const char* role,
                                                         std::string& line) {
  std::ifstream in(path);
  if (!in) {
    return fmt::format("--{}-password-file: cannot read '{}': {}", role, path,
                       std::strerror(errno));
  }
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return fmt::format("--{}-password-file: the first line of '{}' is empty", role, path);
  }
  return {};
}

void print_notice(const std::string& text) { fmt::print(stderr, "ferry: {}\n", text); }

/// Who to log in as and with what: a token file or command, a password file, the environment
/// variable, or the URL, in that order.
boost::system::result<void, std::string> resolve_login(const side_flags& side,
                                                       const connection_flags& common,
                                                       const char* role, const char* env_name,
                                                       engine::side& result) {
  const int secret_flags =
      !side.token_file.empty() + !side.token_command.empty() + !side.password_file.empty();
  if (secret_flags > 1) {
    return fmt::format(
        "--{0}-token-file, --{0}-token-command and --{0}-password-file each name "
        "the {0}'s secret; give only one of them",
        role);
  }
  if (!result.where.password.empty()) {
    fmt::print(stderr,
               "warning: the {0} password is on the command line (in the URL), where other users "
               "of this machine can see it while ferry starts and in your shell's history; use "
               "{1} or --{0}-password-file instead\n",
               role, env_name);
  }
  const std::string user = side.user.empty() ? result.where.user : side.user;

  if (!side.token_file.empty() || !side.token_command.empty()) {
    engine::token_timing timing;
    timing.margin =
        std::chrono::milliseconds{static_cast<std::int64_t>(common.token_refresh_margin_s * 1000)};
    const bool file = !side.token_file.empty();
    result.login = engine::token_login::start(
        file ? engine::token_origin::file : engine::token_origin::command,
        file ? side.token_file : side.token_command, user,
        file ? fmt::format("{} token file '{}'", role, side.token_file)
             : fmt::format("{} token command (--{}-token-command)", role, role),
        timing, print_notice);
    result.where.password.clear();
    result.where.user = user;
    return {};
  }

  std::string password, origin;
  if (!side.password_file.empty()) {
    if (auto read = read_first_line(side.password_file, role, password); !read) {
      return read.error();
    }
    origin = fmt::format("password from the file '{}'", side.password_file);
  } else if (const char* env = std::getenv(env_name); env != nullptr && *env != '\0') {
    password = env;
    origin = fmt::format("password from {}", env_name);
  }
  if (!password.empty()) {
    result.login =
        std::make_shared<protocol::fixed_login>(protocol::credentials{user, password}, origin);
    result.where.password.clear();
    result.where.user = user;
  } else if (!side.user.empty()) {
    result.login = std::make_shared<protocol::fixed_login>(
        protocol::credentials{user, result.where.password},
        result.where.password.empty() ? "no password" : "password in the URL");
    result.where.user = user;
  }
  return {};
}

boost::system::result<engine::side, std::string> resolve(const side_flags& side,
                                                         const connection_flags& common,
                                                         const char* role, const char* env_name) {
  auto parsed = protocol::parse_endpoint(side.url);
  if (!parsed) return fmt::format("--{}: {}", role, parsed.error());
  engine::side result;
  result.where = std::move(*parsed);
  if (side.db) result.where.db = *side.db;
  if (auto login = resolve_login(side, common, role, env_name, result); !login) {
    return login.error();
  }

  result.tls.ca_file = side.cacert.empty() ? common.cacert : side.cacert;
  result.tls.cert_file = side.cert.empty() ? common.cert : side.cert;
  result.tls.key_file = side.key.empty() ? common.key : side.key;
  result.tls.server_name = side.server_name;
  result.tls.insecure = side.insecure || common.insecure;
  if (result.tls.insecure && result.where.tls) {
    fmt::print(stderr,
               "WARNING: TLS verification is OFF for the {} ({}): ferry will not check who it "
               "is talking to, and anyone on the network path can read and change the data\n",
               role, result.where.redacted());
  }
  return result;
}

}  // namespace

void add_connection_options(CLI::App& command, connection_flags& flags, command_sides sides) {
  if (sides != command_sides::target_only) {
    add_side(command, flags.source, "source",
             "Source URL: redis[s]://[user[:password]@]host[:port][/db] (any node of a cluster)");
  }
  if (sides != command_sides::source_only) {
    add_side(command, flags.target, "target",
             "Target URL: redis[s]://[user[:password]@]host[:port][/db] (any node of a cluster)");
  }
  const bool both = sides == command_sides::both;
  command
      .add_option("--cacert", flags.cacert,
                  both ? "PEM file of CAs trusted for both sides (default: the system's store)"
                       : "PEM file of CAs trusted (default: the system's store)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command
      .add_option("--cert", flags.cert,
                  both ? "Client certificate (PEM) for both sides" : "Client certificate (PEM)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command
      .add_option("--key", flags.key,
                  both ? "Client private key (PEM) for both sides" : "Client private key (PEM)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_flag("--insecure", flags.insecure,
                   both ? "Do not verify TLS certificates or host names on either side (dangerous)"
                        : "Do not verify the TLS certificate or host name (dangerous)");
  command
      .add_option("--token-refresh-margin", flags.token_refresh_margin_s,
                  "Renew access tokens (and AUTH again on every open connection) at least "
                  "this many seconds before they expire, plus up to a quarter more at random")
      ->check(CLI::Range(0.1, 86'400.0))
      ->capture_default_str()
      ->type_name("SECONDS");
}

boost::system::result<std::pair<engine::side, engine::side>, std::string> resolve_sides(
    const connection_flags& flags) {
  auto source = resolve(flags.source, flags, "source", "FERRY_SOURCE_PASSWORD");
  if (!source) return source.error();
  auto target = resolve(flags.target, flags, "target", "FERRY_TARGET_PASSWORD");
  if (!target) return target.error();
  return std::pair{std::move(*source), std::move(*target)};
}

boost::system::result<engine::side, std::string> resolve_one_side(const connection_flags& flags,
                                                                  bool source) {
  return source ? resolve(flags.source, flags, "source", "FERRY_SOURCE_PASSWORD")
                : resolve(flags.target, flags, "target", "FERRY_TARGET_PASSWORD");
}

}  // namespace ferry::cli
