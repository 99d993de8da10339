#pragma once
// Reading INFO replies: one field parser for every caller (versions, run ids, memory, keyspace).
// Pure.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ferry::protocol {

/// The value of `name:` in an INFO reply (any section), or nothing when absent. Lines end in
/// "\r\n" (a bare "\n" is accepted too); the match is on the whole field name.
std::optional<std::string_view> info_field(std::string_view info, std::string_view name);

/// The value of `name:` as text, or `fallback` when absent.
std::string_view info_text(std::string_view info, std::string_view name,
                           std::string_view fallback = {});

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
