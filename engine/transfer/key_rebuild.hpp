#pragma once
// One key copied with type commands ("struct mode"), as a pure machine: it says which commands
// run next, on the source or on the target, and judges their replies. It does no I/O; the
// rebuild driver (rebuild_driver.hpp) runs many of them at once in pipelined rounds.
//
// Small values (a size hint of at most `whole_bytes`, not a stream, existing keys may be
// overwritten) are read with one command (GET, LRANGE 0 -1, SMEMBERS, ZRANGE 0 -1 WITHSCORES,
// HGETALL; with HPEXPIRETIME for a 7.4 hash's field expiries) and written in one transaction,
// so a reader of the target sees the old value or the new one, never half of either:
//
//   MULTI  DEL key  <RPUSH|SADD|ZADD|HSET|SET key ...>  [HPEXPIREAT key ...]  [PEXPIREAT key]  EXEC
//
// Anything else is built under a temporary key in the key's slot (`ferry:tmp:{TAG}:...`), chunk
// by chunk (GETRANGE→SET/APPEND, LRANGE→RPUSH, SSCAN→SADD, ZSCAN→ZADD, HSCAN→HSET+HPEXPIREAT,
// XRANGE→XADD, then XSETID with entries-added and max-deleted-id, XGROUP CREATE ... ENTRIESREAD,
// XGROUP CREATECONSUMER, XCLAIM ... IDLE RETRYCOUNT FORCE JUSTID for each pending entry). The
// temporary key carries a short expiry, refreshed by every chunk, so an interrupted copy leaves
// nothing behind for long; one transaction then gives it the key's absolute expiry and renames
// it over the key:
//
//   <LEN> tmp  MULTI  EXISTS key  PEXPIREAT tmp <ms>|PERSIST tmp  RENAME|RENAMENX tmp key  EXEC
//
// A chunked key is read while the source may change it: its length is read again at the end and
// compared with what the source said at the start and with what the temporary key holds; a key
// that moved is copied as read and reported `changed` (a live sync copies it again).
//
// Replies the driver handles itself never reach `take()`: MOVED, ASK and "not now" on the source
// (the same step runs again where or when they say), and a broken connection (`broken()`). Any
// surprise on the target (a redirect, TRYAGAIN, a lost connection) makes the machine start the
// key again from the beginning under a new temporary name: a half-written chunk cannot be told
// from a whole one. Unit-tested step by step in tests/unit/key_rebuild_test.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/transfer/value_type.hpp"
#include "protocol/wire/bytes.hpp"
#include "protocol/wire/command.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::engine {

/// What the two servers can do, for the commands a rebuild uses.
struct rebuild_caps {
  /// The source answers PEXPIRETIME (Redis 7); otherwise PTTL, made absolute.
  bool source_pexpiretime = true;
  /// The target answers PEXPIRETIME (to read back what was written).
  bool target_pexpiretime = true;
  /// The source has hash-field expiries (Redis 7.4: HPEXPIRETIME).
  bool source_field_ttls = false;
  /// The target has hash-field expiries (HPEXPIREAT).
  bool target_field_ttls = false;
  /// The target takes XSETID ... ENTRIESADDED MAXDELETEDID and XGROUP CREATE ... ENTRIESREAD
  /// (Redis 7.0).
  bool target_stream_v2 = true;
  /// The target has XGROUP CREATECONSUMER (Redis 6.2); older ones learn consumers from XCLAIM.
  bool target_createconsumer = true;
};

/// How large the pieces are.
struct rebuild_sizes {
  /// Value bytes one chunk aims at (element counts adapt to the sizes seen).
  std::size_t chunk_bytes = std::size_t{512} << 10;
  /// Most elements one chunk asks for.
  std::size_t max_chunk_elements = 1000;
  /// A key whose size hint is at most this is read whole and written in one transaction.
  std::size_t whole_bytes = std::size_t{256} << 10;
  /// The largest single element (a hash value, a list element, ...) held at once; a key with a
  /// larger one fails (strings are chunked, so never).
  std::size_t max_element_bytes = std::size_t{32} << 20;
  /// Expiry of a temporary key, refreshed by every chunk written to it.
  std::chrono::milliseconds temp_ttl{300'000};
  /// Times a key is started again after surprises on the target before the job stops.
  unsigned max_attempts = 20;
};

/// The side the next step runs on.
enum class rebuild_side {
  source,  ///< read the source
  target,  ///< write the target
  done,    ///< finished: see outcome()
};

/// How a key ended.
enum class rebuild_end {
  copied,     ///< written; the key did not exist on the target
  rescanned,  ///< written over a key the target held (one of ferry's own, by the job's policy)
  vanished,   ///< gone from the source (deleted, or expired before it could be written)
  exists,     ///< the target holds the key and the policy keeps it (nothing written)
  failed,     ///< this key cannot be copied (`error`, `detail`): record it
  fatal,      ///< a refusal that stops the job (`error`, `detail`)
};

/// What the rebuild of one key came to.
struct rebuild_outcome {
  /// How it ended.
  rebuild_end end = rebuild_end::copied;
  /// Copied as read, but the source changed while its chunks were read.
  bool changed = false;
  /// The error class (failed, fatal).
  protocol::errc error = protocol::errc::server_error;
  /// What went wrong, for the failed-keys file or the job's message.
  std::string detail;
  /// Value bytes written to the target.
  std::uint64_t bytes = 0;
  /// Pending entries of a stream that could not be recreated: their entries were deleted from
  /// the stream (XCLAIM cannot claim what is not there).
  std::uint64_t lost_pending = 0;
  /// Times the key was started again.
  unsigned restarts = 0;
  /// The absolute expiry written (Unix ms), 0 for none.
  std::int64_t expire_at_ms = 0;
};

/// See the file comment.
class key_rebuild {
 public:
  /// What is known of the key when its rebuild begins.
  struct params {
    /// The key.
    protocol::bytes key;
    /// Its hash slot.
    std::uint16_t slot = 0;
    /// Its type if known (from a DUMP payload's first byte), else `unknown` (TYPE is asked).
    value_type type = value_type::unknown;
    /// Bytes of its DUMP payload; 0 when unknown.
    std::uint64_t size_hint = 0;
    /// The payload says the hash carries field expiries (or it is unknown whether it does).
    bool field_ttls = true;
    /// Keep a key the target already holds (--on-existing skip/fail): RENAMENX.
    bool keep_existing = false;
    /// Temporary keys are this plus ":<attempt>"; it must hash to `slot`
    /// (`ferry:tmp:{TAG}:<job>:<n>`, see temp_key_prefix).
    std::string temp_prefix;
  };

  /// A rebuild of `p` under `caps` and `sizes` (both must outlive it).
  key_rebuild(params p, const rebuild_caps& caps, const rebuild_sizes& sizes);

  /// Where the next step runs.
  rebuild_side side() const noexcept { return side_; }
  /// Appends the next step's commands (for `side()`), with ASKING before each when `asking`;
  /// returns how many replies the step expects, ASKING's not counted. May be called again for
  /// the same step (a redirect or retry): it appends the same commands.
  std::size_t encode(protocol::command_buffer& out, bool asking) const;
  /// Takes the step's replies (ASKING's removed), read at `now_ms` (Unix ms).
  void take(std::span<protocol::reply> replies, std::int64_t now_ms);
  /// The target's connection broke during the step: the key starts again.
  void broken();
  /// The target answered MOVED, ASK or "not now" for the step: the key starts again (after the
  /// driver refreshed the map or waited).
  void start_again();

  /// The result, once `side()` is done.
  const rebuild_outcome& outcome() const noexcept { return outcome_; }
  /// The key.
  const protocol::bytes& key() const noexcept { return params_.key; }
  /// Its slot.
  std::uint16_t slot() const noexcept { return params_.slot; }
  /// The temporary key of this attempt (empty before one is needed).
  const std::string& temp_key() const noexcept { return temp_; }
  /// Bytes of value held between a read and its write.
  std::size_t held_bytes() const noexcept { return held_; }
  /// At most how many bytes of bulk strings the next source step's replies may bring (what the
  /// driver reserves before it runs the step; replies past it come back skipped, and the step
  /// is asked again smaller).
  std::size_t next_read_bytes() const noexcept;

 private:
  enum class phase {
    probe,          // TYPE
    whole_read,     // one command for the value, and its expiry
    whole_ttls,     // HPEXPIRETIME of the fields just read
    whole_write,    // MULTI ... EXEC
    chunk_read,     // the next chunk (and, first, the length)
    chunk_ttls,     // HPEXPIRETIME of the chunk's fields
    chunk_write,    // the chunk into the temporary key
    stream_meta,    // XINFO STREAM, XINFO GROUPS
    stream_create,  // an empty stream (no entry to XADD)
    stream_read,    // XRANGE
    stream_write,   // XADD
    groups_write,   // XSETID, XGROUP CREATE
    group_read,     // XINFO CONSUMERS, XPENDING page
    group_write,    // XGROUP CREATECONSUMER, XCLAIM
    final_read,     // the length and the expiry
    final_write,    // the length of the copy, MULTI ... RENAME ... EXEC
    cleanup,        // DEL tmp
  };

  struct group_state {
    protocol::bytes name;
    std::string last_delivered;
    std::optional<std::int64_t> entries_read;
  };

  void begin();
  void restart_with_type();
  void finish(rebuild_end end);
  void fail(rebuild_end end, protocol::errc error, std::string detail);
  bool refused(const protocol::reply& r, std::string_view command);
  void next_temp();
  void adapt(std::size_t elements, std::size_t bytes);

  void encode_source(protocol::command_buffer& out, bool asking) const;
  void encode_target(protocol::command_buffer& out, bool asking) const;
  void encode_stream_target(protocol::command_buffer& out, bool asking) const;
  void encode_stream_source(protocol::command_buffer& out, bool asking) const;

  void take_probe(std::span<protocol::reply> r);
  void take_whole_read(std::span<protocol::reply> r, std::int64_t now_ms);
  void take_ttls(std::span<protocol::reply> r);
  void take_whole_write(std::span<protocol::reply> r);
  void take_chunk_read(std::span<protocol::reply> r);
  void take_chunk_write(std::span<protocol::reply> r);
  void take_stream_meta(std::span<protocol::reply> r);
  void take_stream_read(std::span<protocol::reply> r);
  void take_simple_write(std::span<protocol::reply> r, phase next);
  void take_group_read(std::span<protocol::reply> r);
  void take_group_write(std::span<protocol::reply> r);
  void take_final_read(std::span<protocol::reply> r, std::int64_t now_ms);
  void take_final_write(std::span<protocol::reply> r);
  void take_cleanup(std::span<protocol::reply> r);

  bool items_skipped(const protocol::reply& array);

  params params_;
  const rebuild_caps& caps_;
  const rebuild_sizes& sizes_;
  rebuild_side side_ = rebuild_side::source;
  phase phase_ = phase::probe;
  value_type type_;
  rebuild_outcome outcome_;
  unsigned attempt_ = 0;
  std::string temp_;
  bool temp_made_ = false;                         // the temporary key has been written to
  bool ambiguous_ = false;                         // an earlier attempt may have written the key
  rebuild_end pending_end_ = rebuild_end::copied;  // what a cleanup ends in

  // The value in hand between a read and its write: flat items (a hash's field, value, ...; a
  // zset's member, score; a stream's entries as id, fields array), and field expiries.
  std::vector<protocol::reply> items_;
  std::vector<std::int64_t> field_expiry_;
  std::size_t held_ = 0;
  std::int64_t expire_at_ = 0;  // 0: none

  // Where the chunked read is.
  std::string cursor_ = "0";    // SCAN cursor, or the next stream id
  std::uint64_t offset_ = 0;    // string byte offset, list index
  std::size_t count_ = 100;     // elements (bytes for a string) asked per chunk
  std::size_t want_bytes_ = 0;  // a lone element's size, learned from a skipped reply
  bool read_all_ = false;       // the last chunk has been read
  std::int64_t start_length_ = -1;
  std::int64_t end_length_ = -1;
  std::uint64_t written_ = 0;  // elements (bytes) written

  // Streams.
  std::string last_id_;
  std::optional<std::int64_t> entries_added_;
  std::string max_deleted_id_;
  std::int64_t stream_length_ = 0;
  std::vector<group_state> groups_;
  std::size_t group_ = 0;           // the group whose consumers and PEL are being copied
  std::string pending_from_ = "-";  // next XPENDING start
  bool consumers_read_ = false;
  std::vector<protocol::reply> consumers_;
};

/// The prefix of every temporary key of struct mode (documented; `ferry verify` ignores it).
inline constexpr std::string_view temp_key_marker = "ferry:tmp:";

/// `ferry:tmp:{TAG}:<job>:<n>`: a name in `slot` for key number `n` of job `job`.
std::string temp_key_prefix(std::uint16_t slot, std::string_view job, std::uint64_t n);

}  // namespace ferry::engine
