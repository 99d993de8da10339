#pragma once
// The connection options every command shares: URLs, TLS, databases, credentials.

#include <CLI/CLI.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <string>

#include "engine/runtime/settings.hpp"

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
  /// File holding an Entra ID access token, re-read before it expires.
  std::string token_file;
  /// Command that prints an Entra ID access token.
  std::string token_command;
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
  /// Renew tokens at least this many seconds before they expire.
  double token_refresh_margin_s = 180;
};

/// The sides a command connects to.
enum class command_sides {
  both,         ///< --source and --target (copy, verify)
  source_only,  ///< --source (export)
  target_only,  ///< --target (import)
};

/// Adds --source and/or --target, TLS, database and credential options to `command`.
void add_connection_options(CLI::App& command, connection_flags& flags,
                            command_sides sides = command_sides::both);

/// Turns the flags into the engine's sides; the error names the flag or URL that is wrong and
/// never contains a password. Warnings (--insecure, a password typed on the command line) are
/// printed to stderr. A token file or command is read here, and its refresher starts; a token
/// that cannot be read or has expired is not an error here but makes the side's first
/// connection fail (exit code 2, before any data moves) with a message that says why.
boost::system::result<std::pair<engine::side, engine::side>, std::string> resolve_sides(
    const connection_flags& flags);

/// One side alone, as resolve_sides does it (for `ferry plan`, whose target is optional).
boost::system::result<engine::side, std::string> resolve_one_side(const connection_flags& flags,
                                                                  bool source);

}  // namespace ferry::cli
