#include "cli/side_options.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "protocol/endpoint.hpp"

namespace ferry::cli {
namespace {

void add_side(CLI::App& command, side_flags& side, const std::string& name,
              const std::string& description) {
  command.add_option("--" + name, side.url, description)->required()->type_name("URL");
  command.add_option("--" + name + "-db", side.db,
                     "Database number on the " + name + " (overrides the URL's /db; default 0)")
      ->check(CLI::Range(0, 1 << 20))
      ->type_name("N");
  command.add_option("--" + name + "-cacert", side.cacert,
                     "PEM file of CAs trusted for the " + name + " (overrides --cacert)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_option("--" + name + "-cert", side.cert,
                     "Client certificate for the " + name + " (overrides --cert)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_option("--" + name + "-key", side.key,
                     "Client private key for the " + name + " (overrides --key)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_option("--" + name + "-tls-server-name", side.server_name,
                     "Name to expect in the " + name +
                         "'s certificate and to send as SNI, when it differs from the host")
      ->type_name("NAME");
  command.add_option("--" + name + "-user", side.user,
                     "ACL user for the " + name + " (overrides the URL's user)")
      ->type_name("USER");
  command.add_option("--" + name + "-password-file", side.password_file,
                     "File holding the " + name +
                         "'s password (first line); see also FERRY_" +
                         (name == "source" ? std::string("SOURCE") : std::string("TARGET")) +
                         "_PASSWORD")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_flag("--" + name + "-insecure", side.insecure,
                   "Do not verify the " + name + "'s TLS certificate (see --insecure)");
}

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

boost::system::result<engine::side, std::string> resolve(const side_flags& side,
                                                         const connection_flags& common,
                                                         const char* role,
                                                         const char* env_name) {
  auto parsed = protocol::parse_endpoint(side.url);
  if (!parsed) return fmt::format("--{}: {}", role, parsed.error());
  engine::side result;
  result.where = std::move(*parsed);
  if (side.db) result.where.db = *side.db;

  std::string password;
  if (!side.password_file.empty()) {
    password = first_line(side.password_file);
  } else if (const char* env = std::getenv(env_name); env != nullptr && *env != '\0') {
    password = env;
  } else if (!result.where.password.empty()) {
    fmt::print(stderr,
               "warning: the {} password is on the command line, where other users of this "
               "machine can read it; use {} or --{}-password-file instead\n",
               role, env_name, role);
  }
  if (!password.empty() || !side.user.empty()) {
    result.login = protocol::credentials{
        side.user.empty() ? result.where.user : side.user,
        password.empty() ? result.where.password : password};
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

void add_connection_options(CLI::App& command, connection_flags& flags) {
  add_side(command, flags.source, "source",
           "Source URL: redis[s]://[user[:password]@]host[:port][/db] (any node of a cluster)");
  add_side(command, flags.target, "target",
           "Target URL: redis[s]://[user[:password]@]host[:port][/db] (any node of a cluster)");
  command.add_option("--cacert", flags.cacert,
                     "PEM file of CAs trusted for both sides (default: the system's store)")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_option("--cert", flags.cert, "Client certificate (PEM) for both sides")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_option("--key", flags.key, "Client private key (PEM) for both sides")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  command.add_flag("--insecure", flags.insecure,
                   "Do not verify TLS certificates or host names on either side (dangerous)");
}

boost::system::result<std::pair<engine::side, engine::side>, std::string> resolve_sides(
    const connection_flags& flags) {
  auto source = resolve(flags.source, flags, "source", "FERRY_SOURCE_PASSWORD");
  if (!source) return source.error();
  auto target = resolve(flags.target, flags, "target", "FERRY_TARGET_PASSWORD");
  if (!target) return target.error();
  return std::pair{std::move(*source), std::move(*target)};
}

}  // namespace ferry::cli
