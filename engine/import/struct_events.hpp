#pragma once
// One key of an RDB file written with type commands ("struct mode" for import), as a pure
// machine: it takes the value's decoded events (protocol/rdb/decode.hpp: from a DUMP payload in
// memory, or streamed by the file reader for a value over the payload limit) and says which
// commands the target runs next, then judges their replies. No I/O: struct_writer.hpp runs it.
//
// The commands are copy's (engine/transfer/rebuild_commands.hpp, shared): a small value (its
// payload at most `whole_bytes`, existing keys may be overwritten) is written in one transaction
//
//   MULTI  DEL key  <RPUSH|SADD|ZADD|HSET|SET key ...>  [HPEXPIREAT key ...]  [PEXPIREAT key]  EXEC
//
// anything else is built under a temporary key in the key's slot (`ferry:tmp:{TAG}:...`, short
// expiry refreshed by every chunk) as its events come, one chunk of about `chunk_bytes` at a
// time (SET/APPEND, RPUSH, SADD, ZADD, HSET + HPEXPIREAT; a stream's XADDs, then XSETID with
// entries-added and max-deleted-id, XGROUP CREATE ... ENTRIESREAD, XGROUP CREATECONSUMER and an
// XCLAIM ... TIME ... RETRYCOUNT ... FORCE JUSTID per pending entry), and renamed into place
// with its absolute expiry in one transaction:
//
//   <LEN> tmp  MULTI  EXISTS key  PEXPIREAT tmp <ms>|PERSIST tmp  RENAME|RENAMENX tmp key  EXEC
//
// Held at once: one chunk (its items and its commands) and one element being assembled from its
// pieces (up to `max_element_bytes`), whatever the value's size.
//
// A surprise on the target (a redirect, "not now", a lost connection) is the driver's: it calls
// start_again() and, when it can, delivers the events again from the first (a payload in
// memory); a streamed value cannot be read again and is failed by the driver instead.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/transfer/key_rebuild.hpp"
#include "protocol/rdb/decode.hpp"
#include "protocol/wire/command.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::engine {

/// What the machine needs next.
enum class event_step {
  events,  ///< the value's next event (take_event)
  target,  ///< a target step (encode, then take)
  done,    ///< finished: see outcome()
};

/// See the file comment.
class event_rebuild {
 public:
  /// What is known of the key before its first event.
  struct params {
    /// The key and its hash slot.
    std::string key;
    std::uint16_t slot = 0;
    /// Absolute expiry (Unix ms), 0 for none.
    std::int64_t expire_at_ms = 0;
    /// Bytes of its DUMP payload; 0 when unknown (a streamed value): never written whole.
    std::uint64_t size_hint = 0;
    /// Keep a key the target already holds (--on-existing skip/fail): RENAMENX.
    bool keep_existing = false;
    /// Temporary keys are this plus ":<attempt>"; it must hash to `slot` (temp_key_prefix).
    std::string temp_prefix;
    /// Now (Unix ms): hash fields already expired are left out.
    std::int64_t now_ms = 0;
  };

  /// A rebuild of `p` for a target that can do `caps`, in pieces of `sizes` (both must outlive
  /// it; only the target's capabilities are looked at).
  event_rebuild(params p, const rebuild_caps& caps, const rebuild_sizes& sizes);

  /// What it needs next.
  event_step step() const noexcept { return step_; }
  /// Takes the value's next event (`step()` is `events`).
  void take_event(const protocol::rdb::value_event& e);
  /// True when the step is the one transaction of a small value (its last): it can share a
  /// round trip with other keys' (encode_whole).
  bool whole_step() const noexcept { return phase_ == phase::whole_write; }
  /// Appends that transaction's commands to `out` (the same as `commands()`); returns how many.
  std::size_t encode_whole(protocol::command_buffer& out) const;
  /// The target step's commands (`step()` is `target`), and how many replies they bring.
  protocol::command_buffer& commands() noexcept { return commands_; }
  std::size_t expected_replies() const noexcept { return replies_; }
  /// Takes the step's replies (all of them: the driver handles redirects and broken links).
  void take(std::span<protocol::reply> replies);
  /// A surprise on the target: the key starts again under a new temporary name; the caller
  /// delivers its events again from the first. After too many attempts the outcome is fatal.
  void start_again();
  /// Ends the key as failed with `detail` (the driver could not go on with it); a temporary key
  /// already written is deleted first when `cleanup` (otherwise it expires).
  void give_up(protocol::errc error, std::string detail, bool cleanup);

  /// The result, once `step()` is done.
  const rebuild_outcome& outcome() const noexcept { return outcome_; }
  /// The key, its slot, the temporary key of this attempt (empty while none is needed).
  const std::string& key() const noexcept { return params_.key; }
  std::uint16_t slot() const noexcept { return params_.slot; }
  const std::string& temp_key() const noexcept { return temp_; }
  /// True once something was written under the temporary key.
  bool temp_written() const noexcept { return temp_made_; }
  /// Bytes of value held (the chunk being built and its commands).
  std::size_t held_bytes() const noexcept;
  /// Times started again.
  unsigned attempts() const noexcept { return attempt_; }

 private:
  enum class phase {
    collect,      // taking events
    whole_write,  // MULTI DEL key <write> ... EXEC
    chunk_write,  // the chunk into the temporary key
    final_write,  // <LEN> tmp, MULTI ... RENAME ... EXEC
    cleanup,      // DEL tmp
  };

  void begin();
  bool whole() const noexcept;
  void fail(rebuild_end end, protocol::errc error, std::string detail);
  void finish(rebuild_end end);
  bool refused(const protocol::reply& r, std::string_view command);
  void close_field();
  void add_item(std::string item);
  void flush(bool last);
  void build_chunk();
  void build_whole();
  void build_final();
  void take_element(const protocol::rdb::value_event& e);
  void take_stream(const protocol::rdb::value_event& e);
  void stream_ready();

  params params_;
  const rebuild_caps& caps_;
  const rebuild_sizes& sizes_;
  event_step step_ = event_step::events;
  phase phase_ = phase::collect;
  value_type type_ = value_type::unknown;
  rebuild_outcome outcome_;
  unsigned attempt_ = 0;
  std::string temp_;
  bool temp_made_ = false;
  bool ambiguous_ = false;  // an earlier attempt may have written the key
  bool ended_ = false;      // the `end` event was taken
  rebuild_end pending_end_ = rebuild_end::failed;

  // The chunk being built: flat items (a zset's member, score; a hash's field, value), the
  // hash fields' expiries (-1 none), the element being assembled from pieces.
  std::vector<std::string> items_;
  std::vector<std::int64_t> field_expiry_;
  bool any_field_expiry_ = false;
  std::string piece_;
  std::string field_;        // the hash field whose value is being assembled
  bool field_open_ = false;  // the last hash field's value is complete, its expiry may follow
  std::size_t items_bytes_ = 0;
  std::uint64_t written_ = 0;  // elements (string bytes, stream entries) written or queued

  // The step's commands, built when it became ready; which of them are XCLAIMs.
  protocol::command_buffer commands_;
  std::size_t replies_ = 0;
  std::vector<std::uint32_t> claims_;

  // Streams: the group whose consumers and pending entries follow, the consumer of the pending
  // entries, whether the stream exists on the target yet.
  std::string group_, consumer_;
  bool stream_made_ = false;
};

/// A zset score as ZADD takes it and prints back to the same double ("inf", "-inf", "1.5").
std::string format_score(double score);

}  // namespace ferry::engine
