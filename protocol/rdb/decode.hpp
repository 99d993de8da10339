#pragma once
// Decoding a value into its logical content ("struct mode"): a pull stream of events that a
// writer turns into SET/APPEND, RPUSH, SADD, ZADD, HSET (+ HPEXPIREAT), XADD, XSETID, XGROUP,
// XCLAIM batches. Every encoding is understood: raw, integer and LZF strings; ziplists,
// listpacks, intsets, zipmaps, quicklists 1 and 2; zsets with text or binary scores; hashes with
// field TTLs (Redis 7.4 types 22-25, Valkey 9's HASH_2); streams 1-3 with consumer groups.
//
// Memory stays bounded: a string, list element, set member or hash value is delivered in pieces
// of at most `piece_bytes`; only items that one command must carry whole (a zset member, a hash
// field name, a stream entry's fields and values) are held whole, up to `max_whole_bytes`; the
// pending entries of one consumer group are held (32 bytes each) to join them with their owners.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/rdb/error.hpp"
#include "protocol/rdb/format.hpp"

namespace ferry::protocol::rdb {

namespace detail {
class input;
}

/// A stream entry id.
struct stream_id {
  /// Milliseconds part.
  std::uint64_t ms = 0;
  /// Sequence part.
  std::uint64_t seq = 0;
  /// "ms-seq", as XADD and XSETID take it.
  std::string text() const;
  /// Ordered as Redis orders ids.
  friend auto operator<=>(const stream_id&, const stream_id&) = default;
};

/// What a `value_event` carries.
enum class event_type : std::uint8_t {
  begin,              ///< first event: `kind`, `type_id`, `count`
  string_piece,       ///< bytes of a string value: a piece (see `value_event::data`)
  element,            ///< a list element or set member: a piece
  zset_member,        ///< a zset member, whole, with `score`
  hash_field,         ///< a hash field name, whole
  hash_value,         ///< the value of the last `hash_field`: a piece
  hash_field_expiry,  ///< after the value, for hash types with field TTLs: `expire_ms` (0 none)
  stream_entry,       ///< one stream entry, whole: `id`, `fields`
  stream_meta,        ///< after the entries: `meta`
  stream_group,       ///< a consumer group: `group`
  stream_consumer,    ///< a consumer of the last group: `consumer`
  stream_pending,     ///< a pending entry of the last group: `pending` (after its consumer)
  end,                ///< last event
};

/// Stream metadata (what XSETID restores).
struct stream_meta_info {
  /// Number of entries (XLEN).
  std::uint64_t length = 0;
  /// last-generated-id.
  stream_id last_id;
  /// recorded-first-entry-id (RDB 10+; older: the first entry's id, or 0-0).
  stream_id first_id;
  /// max-deleted-entry-id (RDB 10+; older: 0-0).
  stream_id max_deleted_id;
  /// entries-added (RDB 10+; older: the length, as Redis assumes).
  std::uint64_t entries_added = 0;
  /// Number of consumer groups that follow.
  std::uint64_t groups = 0;
  /// True for the 5.0 layout, where first/max-deleted/entries-added were derived, not read.
  bool derived = false;
};

/// A consumer group.
struct stream_group_info {
  /// Group name.
  std::string_view name;
  /// last-delivered-id.
  stream_id last_delivered_id;
  /// entries-read (RDB 10+), or -1 when the file does not say (5.0 layout).
  std::int64_t entries_read = -1;
  /// Pending entries of the group.
  std::uint64_t pending = 0;
  /// Consumers that follow.
  std::uint64_t consumers = 0;
};

/// A consumer of the last group.
struct stream_consumer_info {
  /// Consumer name.
  std::string_view name;
  /// seen-time, ms since the epoch.
  std::int64_t seen_time_ms = 0;
  /// active-time, ms since the epoch (RDB 11+; older files: equal to seen-time, as Redis does).
  std::int64_t active_time_ms = 0;
  /// Pending entries it owns (that many `stream_pending` events follow).
  std::uint64_t pending = 0;
};

/// A pending entry.
struct stream_pending_info {
  /// The entry id.
  stream_id id;
  /// Owner; empty for an entry no consumer claims (a damaged PEL, reported last).
  std::string_view consumer;
  /// Last delivery time, ms since the epoch.
  std::int64_t delivery_time_ms = 0;
  /// Delivery count.
  std::uint64_t delivery_count = 0;
};

/// One event. Views point into the decoder and are valid until the next `next()`.
struct value_event {
  /// What this event is.
  event_type type = event_type::begin;
  /// begin: the logical type.
  value_kind kind = value_kind::string;
  /// begin: the RDB type id.
  std::uint8_t type_id = 0;
  /// begin: elements (list, set), members (zset), fields (hash); -1 when the encoding does not
  /// say up front (quicklists, streams, strings).
  std::int64_t count = -1;
  /// Pieces and whole items: the bytes. A piece is part of an item of `item_size` bytes starting
  /// at `piece_offset`; a whole item has `piece_offset == 0` and `data.size() == item_size`.
  std::string_view data;
  /// Size of the item `data` belongs to.
  std::uint64_t item_size = 0;
  /// Where `data` starts in its item.
  std::uint64_t piece_offset = 0;
  /// zset_member: the score (±inf possible; never NaN).
  double score = 0;
  /// hash_field_expiry: absolute expiry in ms since the epoch, 0 for none.
  std::int64_t expire_ms = 0;
  /// stream_entry: the id.
  stream_id id;
  /// stream_entry: field, value, field, value, ...
  std::span<const std::string_view> fields;
  /// stream_meta.
  stream_meta_info meta;
  /// stream_group.
  stream_group_info group;
  /// stream_consumer.
  stream_consumer_info consumer;
  /// stream_pending.
  stream_pending_info pending;

  /// True for the first piece of an item.
  bool first_piece() const noexcept { return piece_offset == 0; }
  /// True for the last piece of an item.
  bool last_piece() const noexcept { return piece_offset + data.size() == item_size; }
};

/// Limits of a decoder.
struct decode_options {
  /// Largest piece of a string, element or hash value delivered at once.
  std::size_t piece_bytes = 1 << 20;
  /// Largest item that must be held whole: a zset member, a hash field, a stream entry.
  std::size_t max_whole_bytes = 64 << 20;
  /// Largest pending-entries list of one consumer group (32 bytes each in memory).
  std::size_t max_group_pending = 4 << 20;
};

/// A pull stream of `value_event`s for one value. Movable, not copyable.
class value_decoder {
 public:
  /// Decodes a DUMP payload (type byte + value + version + CRC64). The trailer is checked
  /// (CRC64, a known version) first. `payload` must outlive the decoder.
  static result<value_decoder> from_payload(std::string_view payload, decode_options options = {});
  /// Same, keeping its own copy of `payload` (so a temporary is safe to pass).
  static result<value_decoder> from_payload(std::string&& payload, decode_options options = {});

  /// Decodes a value whose serialized bytes are read from `in` (which must outlive the decoder):
  /// type `type_id` of RDB `version`. Used by the file reader for values over its payload limit.
  static value_decoder from_input(detail::input& in, std::uint8_t type_id, std::uint16_t version,
                                  decode_options options = {});

  value_decoder(value_decoder&&) noexcept;
  value_decoder& operator=(value_decoder&&) noexcept;
  ~value_decoder();

  /// The next event; `end` comes last, after it `nullptr`. An error ends the stream.
  result<const value_event*> next();
  /// Reads (and drops) every remaining event; the first error, if any.
  result<void> skip_rest();

 private:
  struct state;
  explicit value_decoder(std::unique_ptr<state> s);
  std::unique_ptr<std::string> owner_;  // declared first: destroyed after the state using it
  std::unique_ptr<state> state_;
};

}  // namespace ferry::protocol::rdb
