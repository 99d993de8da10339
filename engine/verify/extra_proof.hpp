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
// A source that is written during the source pass (a live one, which also deletes keys) makes the
// proof fail most of the time: a watch of both sides' write counters then starts the target's
// scan beside the comparison (extra_gate), and only its lookups wait for the judgement.
//
// Thread: any (pure functions, extra_gate); a node_state_reader on its executor.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/result.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// What one master (of the target, or of a watched source) says about its writes and its size.
struct node_state {
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
std::string parse_node_info(std::string_view info, node_state& state);

/// Why `after` is not the node `before` was with the same keys (another node, not a master,
/// written, another size), as words to follow the side's name ("the target " + it), or nothing
/// when it is.
std::optional<std::string> node_moved(const node_state& before, const node_state& after);

/// Why the count does not prove the target free of extra keys, or nothing when it does:
/// `before` and `after` are the target masters' states around the source pass (same order),
/// `present` the number of distinct keys the source pass found present on the target.
std::optional<std::string> judge_extra_proof(const std::vector<node_state>& before,
                                             const std::vector<node_state>& after,
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
  /// Distinct hashes noted (sorts and deduplicates in place, and indexes them for contains()).
  std::uint64_t distinct();
  /// True when a key with `key`'s hash was noted; only after distinct(). A key whose hash is
  /// another's is taken for it (about n / 2^64 for each of n keys noted).
  bool contains(std::string_view key) const;
  /// Bytes held.
  std::size_t bytes() const noexcept {
    return hashes_.capacity() * sizeof(std::uint64_t) + starts_.capacity() * sizeof(std::uint32_t);
  }

 private:
  std::size_t limit_;
  bool overflowed_ = false;
  std::vector<std::uint64_t> hashes_;
  // Where each bucket of hashes (their top bits) starts in the sorted hashes_, one more at the
  // end: a lookup searches about four neighbours, not the whole vector (a million lookups
  // into a million keys took 0.3 s by binary search, in cache misses).
  std::vector<std::uint32_t> starts_;
  unsigned shift_ = 63;
};

/// Reads INFO and DBSIZE on a side's masters, as often as asked, over connections it opens on
/// the first read and keeps (a watch every few hundred milliseconds must not open a TLS
/// connection each time). A node whose INFO lacks a field gives an error naming it (the caller
/// falls back, not fails).
class node_state_reader {
 public:
  /// `role` ("target", "source") names the side in messages.
  node_state_reader(boost::asio::any_io_executor executor, protocol::connection_options base,
                    std::vector<protocol::cluster_node> nodes, std::string role);
  ~node_state_reader();
  node_state_reader(const node_state_reader&) = delete;
  node_state_reader& operator=(const node_state_reader&) = delete;

  /// The masters' states, in the order of `nodes`.
  boost::asio::awaitable<maybe<std::vector<node_state>>> read();

 private:
  boost::asio::any_io_executor executor_;
  protocol::connection_options base_;
  std::vector<protocol::cluster_node> nodes_;
  std::string role_;
  std::vector<std::unique_ptr<protocol::connection>> connections_;
};

/// One read of the target masters' states (a node_state_reader used once).
boost::asio::awaitable<maybe<std::vector<node_state>>> read_node_states(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes);

/// Lets the extra-key pass scan the target while the source pass runs, when the proof looks bound
/// to fail (a watch saw either side written), holding what it finds until the proof is judged:
/// a live source then does not pay for the target's scan after its comparison. Waiting →
/// scanning (start) → open (the proof failed: look the keys up) or cancelled (it held, or the
/// job stopped); waiting → open or cancelled directly when nothing started the scan.
///
/// Thread: any; the set given to open() must not change afterwards.
class extra_gate {
 public:
  enum class state { waiting, scanning, open, cancelled };
  /// The most bytes of key names the early scan holds before the judgement (it then waits).
  static constexpr std::size_t hold_bytes = std::size_t{64} << 20;

  state now() const noexcept { return state_.load(std::memory_order_acquire); }
  /// True once the proof is judged (or the job stopped).
  bool decided() const noexcept {
    const state s = now();
    return s == state::open || s == state::cancelled;
  }
  /// Lets the scan start before the judgement (no effect once decided).
  void start() noexcept {
    state expected = state::waiting;
    state_.compare_exchange_strong(expected, state::scanning, std::memory_order_acq_rel);
  }
  /// The pass runs; `compared` (null: none) holds the keys the source pass found on the target,
  /// which it need not look up.
  void open(const key_hash_set* compared) noexcept {
    compared_ = compared;
    state_.store(state::open, std::memory_order_release);
  }
  /// The pass is not needed.
  void cancel() noexcept { state_.store(state::cancelled, std::memory_order_release); }
  /// The keys not to look up; only once open.
  const key_hash_set* compared() const noexcept { return compared_; }

 private:
  std::atomic<state> state_{state::waiting};
  const key_hash_set* compared_ = nullptr;
};

}  // namespace ferry::engine
