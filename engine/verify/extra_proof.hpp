#pragma once
// The count that can make verify's extra-key pass unnecessary.
//
// The extra-key pass scans the target and looks every batch of its keys up on the source (one
// EXISTS per batch): on small keys that is most of what verify costs the source beyond what the
// copy did. It can be skipped when a count proves there is nothing to find: every distinct key
// the source pass found present on the target is a target key, so if the target holds exactly
// that many keys, it holds no other. That holds only while the target's key set does not change
// between the first and the last read: each target master's write counter (`server.dirty`, INFO
// `rdb_changes_since_last_save`, reset by a save, hence also `rdb_saves` and
// `rdb_last_save_time`), its run id and role, its expired/evicted key counters and its DBSIZE
// must be the same before the source pass and after it. Anything else (a field INFO does not
// give, a write, a failover, a count that differs) runs the pass as before: the safe direction.
//
// Thread: any (pure functions); read_target_states runs on the caller's executor.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/result.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// What one target master says about its writes and its size.
struct target_node_state {
  /// host:port, for messages.
  std::string address;
  /// INFO server `run_id` (a restarted or replaced node has another).
  std::string run_id;
  /// INFO replication `role`.
  std::string role;
  /// INFO persistence `rdb_changes_since_last_save` (server.dirty).
  std::int64_t dirty = -1;
  /// INFO persistence `rdb_saves` (Redis 7.0+, Valkey).
  std::int64_t saves = -1;
  /// INFO persistence `rdb_last_save_time`.
  std::int64_t last_save = -1;
  /// INFO stats `expired_keys`.
  std::int64_t expired = -1;
  /// INFO stats `evicted_keys`.
  std::int64_t evicted = -1;
  /// DBSIZE of the job's database.
  std::int64_t keys = -1;
};

/// Fills the INFO fields of `state` from INFO texts (any sections, "name:value" lines). Returns
/// the name of the first field none of them gave, or an empty string.
std::string parse_target_info(std::string_view info, target_node_state& state);

/// Why the count does not prove the target free of extra keys, or nothing when it does:
/// `before` and `after` are the target masters' states around the source pass (same order),
/// `present` the number of distinct keys the source pass found present on the target.
std::optional<std::string> judge_extra_proof(const std::vector<target_node_state>& before,
                                             const std::vector<target_node_state>& after,
                                             std::uint64_t present);

/// Counts distinct keys by a 64-bit hash of their names. Two names with one hash count once:
/// an undercount, which only ever makes judge_extra_proof fall back.
/// Notes past `limit` are dropped and the set marked overflowed (its count is then of no use).
class key_hash_set {
 public:
  /// At most 8 Mi notes (64 MiB) unless told otherwise.
  explicit key_hash_set(std::size_t limit = std::size_t{1} << 23) : limit_(limit) {}
  /// Notes `key`.
  void add(std::string_view key);
  /// True when more keys came than the limit allows.
  bool overflowed() const noexcept { return overflowed_; }
  /// The most notes it keeps.
  std::size_t limit() const noexcept { return limit_; }
  /// Moves `other`'s notes into this one.
  void merge(key_hash_set&& other);
  /// Distinct hashes noted (sorts and deduplicates in place).
  std::uint64_t distinct();
  /// True when a key with `key`'s hash was noted; only after distinct(). A key whose hash is
  /// another's is taken for it (about n / 2^64 for each of n keys noted).
  bool contains(std::string_view key) const;
  /// Bytes held.
  std::size_t bytes() const noexcept { return hashes_.capacity() * sizeof(std::uint64_t); }

 private:
  std::size_t limit_;
  bool overflowed_ = false;
  std::vector<std::uint64_t> hashes_;
};

/// Reads INFO and DBSIZE on each target master in `nodes` (connecting from `base`). A node
/// whose INFO lacks a field gives an error naming it (the caller falls back, not fails).
boost::asio::awaitable<maybe<std::vector<target_node_state>>> read_target_states(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes);

}  // namespace ferry::engine
