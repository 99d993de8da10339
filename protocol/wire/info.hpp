#pragma once
// Reading INFO replies: one field parser for every caller (versions, run ids, memory, keyspace).
// Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::protocol {

/// The value of `name:` in an INFO reply (any section), or nothing when absent. Lines end in
/// "\r\n" (a bare "\n" is accepted too); the match is on the whole field name.
std::optional<std::string_view> info_field(std::string_view info, std::string_view name);

/// The value of `name:` as text, or `fallback` when absent.
std::string_view info_text(std::string_view info, std::string_view name,
                           std::string_view fallback = {});

/// The value of `name:` as an unsigned integer; nothing when absent or not a whole number.
std::optional<std::uint64_t> info_unsigned(std::string_view info, std::string_view name);

/// The value of `name:` as a number ("1.08", "0.004660", "12"); nothing when absent or unreadable.
std::optional<double> info_number(std::string_view info, std::string_view name);

/// One line of INFO keyspace: `db3:keys=10,expires=2,avg_ttl=1000`.
struct keyspace_entry {
  /// The database number.
  int db = 0;
  /// Keys in it.
  std::uint64_t keys = 0;
  /// Keys with an expiry.
  std::uint64_t expires = 0;
  /// Average TTL in ms of the keys with an expiry (as the server estimates it).
  std::uint64_t avg_ttl_ms = 0;
};

/// Every `dbN:` line of an INFO (keyspace) reply, in the order given; malformed lines are skipped.
std::vector<keyspace_entry> parse_keyspace(std::string_view info);

/// One line of INFO commandstats: `cmdstat_client|setname:calls=3,usec=9,...`.
struct command_stat {
  /// The command in lower case; a subcommand as "client|setname" (Redis >= 7).
  std::string name;
  /// Calls that ran.
  std::uint64_t calls = 0;
  /// Microseconds spent in them.
  std::uint64_t usec = 0;
  /// Calls refused before running (ACL, OOM, wrong arity; Redis >= 6.2).
  std::uint64_t rejected_calls = 0;
  /// Calls that ran and failed (Redis >= 6.2).
  std::uint64_t failed_calls = 0;
};

/// Every `cmdstat_` line of an INFO (commandstats) reply, in the order given.
std::vector<command_stat> parse_commandstats(std::string_view info);

/// One line of INFO modules: `module:name=search,ver=20809,api=1,...`.
struct module_entry {
  /// The module's name as it registered itself ("search", "ReJSON", "bf", "timeseries").
  std::string name;
  /// Its version number as the module reports it (e.g. 20809 for 2.8.9).
  std::uint64_t version = 0;
};

/// Every `module:` line of an INFO (modules) reply.
std::vector<module_entry> parse_modules(std::string_view info);

/// "7.0.15" as {7, 0}; {0, 0} when it is not a version.
struct server_version {
  /// Major version.
  int major = 0;
  /// Minor version.
  int minor = 0;
  /// Ordering by (major, minor).
  friend auto operator<=>(const server_version&, const server_version&) = default;
};

/// Parses redis_version's value ("7.0.15", "8.0.1"); {0, 0} when unreadable.
server_version parse_server_version(std::string_view text);

}  // namespace ferry::protocol
