#pragma once
// The commands of struct mode, per type, and small helpers over their replies: what the rebuild
// machine (key_rebuild.cpp, key_rebuild_take.cpp, rebuild_stream.cpp) appends and looks at. Pure.

#include <cstdint>
#include <initializer_list>
#include <optional>
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
/// One value argument: a source's bytes or reply by reference (not copied), a value decoded
/// from an RDB file by copy. Every write helper below takes items of either kind, so copy (items
/// as the source's replies gave them) and import (items decoded from a file) share the commands.
inline void value_arg(protocol::command_buffer& out, const protocol::bytes& item) {
  out.arg_ref(item);
}
inline void value_arg(protocol::command_buffer& out, const protocol::reply& item) {
  out.arg_ref(item.str);
}
inline void value_arg(protocol::command_buffer& out, std::string_view item) { out.arg(item); }

/// The command that writes `items` (as the read command returned them, or decoded in the same
/// order: a zset's member before its score, a hash's field before its value) into `key`: SET
/// (with PX `px_ms` when not 0) for the first piece of a string, APPEND for the next ones,
/// RPUSH, SADD, ZADD (score before member), HSET.
template <typename Items>
void write_items_command(writer& w, value_type type, std::string_view key, const Items& items,
                         bool first, std::int64_t px_ms) {
  if (type == value_type::string) {
    const bool set = first;
    w.begin(set && px_ms > 0 ? 5 : 3);
    w.out.arg(set ? "SET" : "APPEND");
    w.out.arg(key);
    value_arg(w.out, items.at(0));
    if (set && px_ms > 0) {
      w.out.arg("PX");
      w.out.arg(px_ms);
    }
    return;
  }
  w.begin(2 + items.size());
  w.out.arg(write_name(type));
  w.out.arg(key);
  if (type == value_type::zset) {
    // ZRANGE WITHSCORES and ZSCAN give member, score; ZADD takes score, member. Scores travel
    // as the server printed them (or as format_score prints a file's), which reads back to the
    // same double (inf and -inf included).
    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
      value_arg(w.out, items[i + 1]);
      value_arg(w.out, items[i]);
    }
    return;
  }
  for (const auto& item : items) value_arg(w.out, item);
}

/// HPEXPIRETIME key FIELDS n <the fields of `items`, a flat field/value list>.
void field_ttls_command(writer& w, const protocol::bytes& key,
                        const std::vector<protocol::reply>& items);

/// HPEXPIREAT key <ms> FIELDS 1 <field> for each field of `items` with an expiry in `expiry`
/// (aligned with the fields; empty for none).
template <typename Items>
void field_expiry_commands(writer& w, std::string_view key, const Items& items,
                           const std::vector<std::int64_t>& expiry) {
  for (std::size_t f = 0; f < expiry.size() && 2 * f < items.size(); ++f) {
    if (expiry[f] < 0) continue;
    w.begin(6);
    w.out.arg("HPEXPIREAT");
    w.out.arg(key);
    w.out.arg(expiry[f]);
    w.out.arg("FIELDS");
    w.out.arg("1");
    value_arg(w.out, items[2 * f]);
  }
}

/// The last step of a value built under `temp`: in one transaction, give it the key's absolute
/// expiry (`expire_at_ms`, 0 for none: PERSIST) and rename it over `key` (RENAMENX when
/// `keep_existing`). EXEC's reply holds EXISTS key, the expiry's reply, RENAME's.
void rename_into_place(writer& w, std::string_view temp, std::string_view key,
                       std::int64_t expire_at_ms, bool keep_existing);

/// A stream without entries (XADD cannot make one): XGROUP CREATE temp ferry-new $ MKSTREAM,
/// then XGROUP DESTROY of that group.
void empty_stream_commands(writer& w, std::string_view temp);
/// XADD temp <id> <field value ...>.
template <typename Id, typename Fields>
void xadd_command(writer& w, std::string_view temp, const Id& id, const Fields& fields) {
  w.begin(3 + fields.size());
  w.out.arg("XADD");
  w.out.arg(temp);
  value_arg(w.out, id);
  for (const auto& f : fields) value_arg(w.out, f);
}
/// XSETID temp <last id> [ENTRIESADDED n MAXDELETEDID id] (the second part when
/// `entries_added` is given: a target with Redis 7's stream metadata).
void xsetid_command(writer& w, std::string_view temp, std::string_view last_id,
                    std::optional<std::int64_t> entries_added, std::string_view max_deleted_id);
/// XGROUP CREATE temp <group> <last delivered id> [ENTRIESREAD n].
template <typename Name>
void xgroup_create_command(writer& w, std::string_view temp, const Name& group,
                           std::string_view last_delivered,
                           std::optional<std::int64_t> entries_read) {
  w.begin(entries_read ? 7 : 5);
  w.out.arg("XGROUP");
  w.out.arg("CREATE");
  w.out.arg(temp);
  value_arg(w.out, group);
  w.out.arg(last_delivered);
  if (entries_read) {
    w.out.arg("ENTRIESREAD");
    w.out.arg(*entries_read);
  }
}
/// XGROUP CREATECONSUMER temp <group> <consumer>.
template <typename Group, typename Name>
void create_consumer_command(writer& w, std::string_view temp, const Group& group,
                             const Name& consumer) {
  w.begin(5);
  w.out.arg("XGROUP");
  w.out.arg("CREATECONSUMER");
  w.out.arg(temp);
  value_arg(w.out, group);
  value_arg(w.out, consumer);
}
/// XCLAIM temp <group> <consumer> 0 <id> <IDLE ms | TIME unix-ms> RETRYCOUNT n FORCE JUSTID:
/// a pending entry with its owner, last delivery and delivery count (`when` is "IDLE" for a
/// time relative to now, "TIME" for an absolute one).
template <typename Group, typename Name, typename Id>
void xclaim_command(writer& w, std::string_view temp, const Group& group, const Name& consumer,
                    const Id& id, std::string_view when, std::int64_t time,
                    std::int64_t deliveries) {
  w.begin(12);
  w.out.arg("XCLAIM");
  w.out.arg(temp);
  value_arg(w.out, group);
  value_arg(w.out, consumer);
  w.out.arg("0");
  value_arg(w.out, id);
  w.out.arg(when);
  w.out.arg(time);
  w.out.arg("RETRYCOUNT");
  w.out.arg(deliveries);
  w.out.arg("FORCE");
  w.out.arg("JUSTID");
}

/// The first error reply among `replies`, or null.
const protocol::reply* first_error(std::span<const protocol::reply> replies) noexcept;

/// The first refusal in the replies to a MULTI ... EXEC (`r`: MULTI's, each queued command's,
/// EXEC's last): `reply` null when it ran. `what` names what was refused for a message:
/// "MULTI/EXEC" (a command refused when queued), "EXEC", or, when `writes` are judged too, "a
/// write in MULTI/EXEC" (an error inside EXEC's reply).
struct exec_refusal {
  const protocol::reply* reply = nullptr;
  std::string_view what;
};
exec_refusal refusal_in_exec(std::span<const protocol::reply> r, bool writes) noexcept;

/// What the target made of rename_into_place (`r`: the length of the temporary key, then the
/// transaction's replies).
struct placement {
  enum class result {
    refused,    ///< `refusal` says which reply, `what` which command
    malformed,  ///< EXEC's reply is not the three replies asked for
    temp_gone,  ///< the temporary key was gone (it expired, or a failover lost it)
    kept,       ///< RENAMENX left an existing key in place
    placed,     ///< the value is in place
  };
  result outcome = result::refused;
  exec_refusal refusal;
  /// The key existed before (only when placed).
  bool existed = false;
  /// The temporary key's length before the rename.
  std::int64_t temp_length = 0;
};
placement judge_placement(std::span<const protocol::reply> r, bool keep_existing) noexcept;
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
