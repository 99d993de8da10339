#pragma once
// The commands of struct mode, per type, and small helpers over their replies: what the rebuild
// machine (key_rebuild.cpp, rebuild_stream.cpp) appends and looks at. Pure.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/transfer/key_rebuild.hpp"
#include "engine/transfer/value_type.hpp"
#include "protocol/wire/bytes.hpp"
#include "protocol/wire/command.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::engine::rebuild_commands {

/// Appends commands, each after an ASKING when asked to.
struct writer {
  /// Where commands go.
  protocol::command_buffer& out;
  /// Put ASKING before each command.
  bool asking = false;

  /// Starts a command of `argc` arguments.
  void begin(std::size_t argc);
  /// `name key` (a key from the source: referenced).
  void key_command(std::string_view name, const protocol::bytes& key);
  /// `name key` (a name made here: copied).
  void key_command(std::string_view name, std::string_view key);
  /// `name key value`.
  void key_int(std::string_view name, std::string_view key, std::int64_t value);
  /// `name a b` (RENAME tmp key).
  void two_keys(std::string_view name, std::string_view a, const protocol::bytes& b);
  /// A command without a key (MULTI, EXEC).
  void plain(std::initializer_list<std::string_view> args);
};

/// PEXPIRETIME or PTTL.
std::string_view expiry_command(const rebuild_caps& caps) noexcept;
/// STRLEN, LLEN, SCARD, ZCARD, HLEN, XLEN.
std::string_view length_command(value_type type) noexcept;
/// GET, LRANGE, SMEMBERS, ZRANGE, HGETALL (for messages).
std::string_view whole_read_name(value_type type) noexcept;
/// GETRANGE, LRANGE, SSCAN, ZSCAN, HSCAN (for messages).
std::string_view chunk_read_name(value_type type) noexcept;
/// SET/APPEND, RPUSH, SADD, ZADD, HSET (for messages).
std::string_view write_name(value_type type) noexcept;

/// The one command that reads a whole value.
void whole_read_command(writer& w, value_type type, const protocol::bytes& key);
/// The command that reads the next chunk: `count` bytes from `offset` (string), elements from
/// index `offset` (list), or a SCAN page from `cursor`.
void chunk_read_command(writer& w, value_type type, const protocol::bytes& key,
                        const std::string& cursor, std::uint64_t offset, std::size_t count);
/// The command that writes `items` (as the read command returned them) into `key`: SET (with
/// PX `px_ms` when not 0) for the first piece of a string, APPEND for the next ones, RPUSH,
/// SADD, ZADD (score before member), HSET.
void write_items_command(writer& w, value_type type, std::string_view key,
                         const std::vector<protocol::reply>& items, bool first, std::int64_t px_ms);
/// HPEXPIRETIME key FIELDS n <the fields of `items`, a flat field/value list>.
void field_ttls_command(writer& w, const protocol::bytes& key,
                        const std::vector<protocol::reply>& items);
/// HPEXPIREAT key <ms> FIELDS 1 <field> for each field of `items` with an expiry in `expiry`
/// (aligned with the fields; empty for none).
void field_expiry_commands(writer& w, std::string_view key,
                           const std::vector<protocol::reply>& items,
                           const std::vector<std::int64_t>& expiry);

/// The first error reply among `replies`, or null.
const protocol::reply* first_error(std::span<const protocol::reply> replies) noexcept;
/// The length of the largest skipped bulk in `r` (recursively); 0 when none was skipped.
std::size_t largest_skipped(const protocol::reply& r) noexcept;
/// The lengths of the skipped bulks in `r`, added up (recursively).
std::size_t skipped_bytes(const protocol::reply& r) noexcept;
/// Bytes of string data in `r`, recursively.
std::size_t reply_bytes(const protocol::reply& r) noexcept;
/// The value named `name` in a flat [name, value, ...] reply (XINFO), or null.
const protocol::reply* field_of(const protocol::reply& flat, std::string_view name) noexcept;
/// The stream id after `id` ("5-3" → "5-4"; "5-18446744073709551615" → "6-0").
std::string next_stream_id(std::string_view id);
/// The larger of two stream ids ("" counts as the smallest).
std::string max_stream_id(const std::string& a, const std::string& b);

}  // namespace ferry::engine::rebuild_commands
