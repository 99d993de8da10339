#pragma once
// The value types struct mode copies with type commands, named from a TYPE reply or from the
// type byte that opens a DUMP payload (which the RDB format never changed for an existing
// encoding: new layouts got new ids). Pure.

#include <cstdint>
#include <string_view>

namespace ferry::engine {

/// What kind of value a key holds, as far as struct mode is concerned.
enum class value_type : std::uint8_t {
  unknown,  ///< not known yet: ask TYPE
  none,     ///< the key does not exist
  string,   ///< a string
  list,     ///< a list
  set,      ///< a set
  zset,     ///< a sorted set
  hash,     ///< a hash (Redis 7.4 hashes may carry field expiries)
  stream,   ///< a stream, with its consumer groups, consumers and pending entries
  module,   ///< a module's type: type commands cannot copy it
};

/// "string", "list", ... ("unknown", "none", "module").
std::string_view name_of(value_type type) noexcept;

/// The type a TYPE reply names; anything but the built-in names and "none" is a module type.
value_type type_from_reply(std::string_view type) noexcept;

/// The type of a DUMP payload whose first byte is `rdb_type`: every encoding of every built-in
/// type from RDB 1 to 12 (Redis 7.4; ids 22/23 are 7.4's release candidates' field-expiry
/// hashes), 6/7 for modules; anything newer is `unknown`.
value_type type_from_rdb(std::uint8_t rdb_type) noexcept;

/// True for the payload types of hashes that carry field expiries (Redis 7.4: 22-25).
constexpr bool rdb_hash_with_field_ttls(std::uint8_t rdb_type) noexcept {
  return rdb_type >= 22 && rdb_type <= 25;
}

}  // namespace ferry::engine
