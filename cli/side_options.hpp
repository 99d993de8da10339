#pragma once
// The connection options that `copy` and `verify` share: URLs, TLS, databases, credentials.

#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/system/result.hpp>

#include "engine/config.hpp"

namespace ferry::cli {

/// Flags of one side (source or target); empty means "not given".
struct side_flags {
  std::string url;
  std::optional<int> db;
  std::string cacert;
  std::string cert;
  std::string key;
  std::string server_name;
  std::string user;
  std::string password_file;
  bool insecure = false;
};

/// Flags of both sides plus the ones that apply to both.
struct connection_flags {
  side_flags source;
  side_flags target;
  std::string cacert;
  std::string cert;
  std::string key;
  bool insecure = false;
};

/// Adds --source, --target, TLS, database and credential options to `command`.
void add_connection_options(CLI::App& command, connection_flags& flags);

/// Turns the flags into the engine's sides; the error names the flag or URL that is wrong and
/// never contains a password. Warnings (--insecure, a password typed on the command line) are
/// printed to stderr.
boost::system::result<std::pair<engine::side, engine::side>, std::string> resolve_sides(
    const connection_flags& flags);

}  // namespace ferry::cli
