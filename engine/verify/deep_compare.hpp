#pragma once
// Type-aware comparison of one key's value on both sides, for when the digests differ.
//
// Two servers holding equal data may serialise it differently (a hash table's order depends on
// each server's hash seed; Redis 6 and 7 pick different encodings), so unequal digests prove
// nothing. This compares what the value means, ignoring order where the type has none, in chunks
// sized by bytes so that memory stays bounded whatever the key's size:
//   string  STRLEN, then GETRANGE slices;
//   list    LLEN, then LRANGE slices by index on both sides;
//   hash    HLEN, then HSCAN the source and HMGET those fields on the target (and HPEXPIRETIME
//           of them on each side holding field expiries);
//   set     SCARD, then SSCAN the source and SISMEMBER each member on the target;
//   zset    ZCARD, then ZSCAN the source and ZSCORE each member on the target (same number);
//   stream  XINFO STREAM scalars, XRANGE slices on both sides, XINFO GROUPS, XINFO CONSUMERS
//           (name, pending) and XPENDING slices (id, consumer, deliveries; not idle times).
// Equal counts and every source element found, equal, on the target mean equal collections.
// Commands are chosen to work on Redis 5 and later (no SMISMEMBER, ZMSCORE or "(" ranges).
//
// Thread: the worker thread owning both routed sides.

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/cluster/routed_side.hpp"
#include "engine/cluster/sides.hpp"
#include "protocol/wire/bytes.hpp"

namespace ferry::engine {

/// Chunk sizes of a deep comparison.
struct deep_options {
  /// Bytes of value one chunk aims at (per side); element counts adapt to observed sizes.
  std::size_t chunk_bytes = std::size_t{1} << 20;
  /// Most elements asked for in one chunk.
  std::size_t max_chunk_elements = 1000;
  /// The source holds hash-field expiries (Redis >= 7.4): a hash's fields are compared with
  /// their expiries (HPEXPIRETIME); a side without them has none, so a field expiry there on
  /// only one side is a difference.
  bool source_field_ttls = false;
  /// The same for the target.
  bool target_field_ttls = false;
  /// Field expiries this far apart (ms) still count as equal.
  std::int64_t ttl_tolerance_ms = 1000;
};

/// How the values compared.
struct deep_result {
  /// True when the values are equal.
  bool equal = true;
  /// What differs first, for people ("field \"f1\" differs"); empty when equal.
  std::string detail;
};

/// Compares the values of `key`, of type `type` on both sides. A key that changes type or
/// disappears half-way compares unequal ("changed while compared"); the caller's re-check sorts
/// that out. Fails only when a side cannot be read at all.
boost::asio::awaitable<maybe<deep_result>> deep_compare(routed_side& source, routed_side& target,
                                                        const protocol::bytes& key,
                                                        const std::string& type,
                                                        const deep_options& options);

namespace detail {

/// One key's chunk exchange with both sides; shared by the per-type comparisons.
struct deep_session {
  routed_side& source;
  routed_side& target;
  const protocol::bytes& key;
  const deep_options& options;
  /// Replies of the last exchange.
  std::vector<protocol::reply> from_source, from_target;
  /// Elements asked for per chunk, adapted to what the last chunk weighed.
  std::size_t chunk = 100;

  /// Runs `ns` commands on the source and `nt` on the target at the same time.
  boost::asio::awaitable<outcome> both(std::size_t ns, const key_encoder& on_source, std::size_t nt,
                                       const key_encoder& on_target);
  /// Runs `n` commands on one side.
  boost::asio::awaitable<outcome> one(routed_side& side, std::size_t n, const key_encoder& encode,
                                      std::vector<protocol::reply>& replies);
  /// Learns from a chunk of `elements` elements weighing `bytes` how many to ask for next.
  void adapt(std::size_t elements, std::size_t bytes);
};

/// Bytes of string data in a reply, recursively.
std::size_t reply_bytes(const protocol::reply& r) noexcept;

/// The stream id after `id` ("5-3" → "5-4"), so a range can restart after it on any version.
std::string next_stream_id(std::string_view id);

/// The stream part of deep_compare.
boost::asio::awaitable<maybe<deep_result>> compare_stream(deep_session& s);

/// A result saying the key changed type or vanished while compared.
deep_result changed_while_compared();

}  // namespace detail
}  // namespace ferry::engine
