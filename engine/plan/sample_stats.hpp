#pragma once
// What a sample of keys says: the type mix, sizes, expiries, the largest keys, odd names. Keys
// are added one by one (by the sampler, or by a walk of the whole keyspace with --scan-all);
// memory stays bounded however many are added. Pure.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::engine {

/// How a key's size was measured.
enum class size_source : std::uint8_t {
  memory_usage,  ///< MEMORY USAGE: bytes of RAM, the key's name and entry included
  dump_length,   ///< DUMP's length: the serialized value, usually smaller than its RAM
  estimated,     ///< from the type's length command (too large to DUMP gently)
};

/// One key looked at.
struct sampled_key {
  /// The key's bytes.
  std::string key;
  /// TYPE: string, list, set, zset, hash, stream, or a module type's name.
  std::string type;
  /// Its size in bytes, as `measured_by` says.
  std::uint64_t bytes = 0;
  /// How `bytes` was measured.
  size_source measured_by = size_source::memory_usage;
  /// Remaining time to live in ms (PTTL); -1 for none.
  std::int64_t ttl_ms = -1;
  /// The source master's address ("host:port").
  std::string node;
  /// Bytes it holds on the source that a restored copy would not (stream_slack); 0 mostly.
  std::uint64_t slack = 0;
};

/// Counts and bytes of one type.
struct type_share {
  /// Keys of this type.
  std::uint64_t keys = 0;
  /// Their bytes.
  std::uint64_t bytes = 0;
};

/// A histogram bucket: keys whose value is at most `upper` (the last bucket has no bound).
struct bucket {
  /// Label for reports: "<= 1 KiB", "> 64 MiB", "none", "< 1 h".
  std::string label;
  /// Keys in it.
  std::uint64_t keys = 0;
};

/// See the file comment.
class sample_stats {
 public:
  /// Keeps the `top` largest keys, and up to `big_list` keys of at least `big_key_bytes`.
  explicit sample_stats(std::uint64_t big_key_bytes = 8ull << 20, std::size_t top = 10,
                        std::size_t big_list = 1000);

  /// Counts one key.
  void add(const sampled_key& key);
  /// Adds another sample's counts (of another master).
  void merge(const sample_stats& other);

  /// Keys counted.
  std::uint64_t keys() const noexcept { return keys_; }
  /// Sum of their sizes.
  std::uint64_t bytes() const noexcept { return bytes_; }
  /// Sum of their names' lengths.
  std::uint64_t key_name_bytes() const noexcept { return name_bytes_; }
  /// Mean size, 0 for an empty sample.
  double mean_bytes() const noexcept;
  /// Per type.
  const std::map<std::string, type_share>& types() const noexcept { return types_; }
  /// Size histogram (powers of four from 64 bytes to 64 MiB).
  std::vector<bucket> size_histogram() const;
  /// TTL histogram: none, < 1 min, < 1 h, < 1 day, < 7 days, < 30 days, longer.
  std::vector<bucket> ttl_histogram() const;
  /// Keys with an expiry.
  std::uint64_t with_ttl() const noexcept { return with_ttl_; }
  /// Mean TTL in ms of keys with one; 0 when none has.
  double mean_ttl_ms() const noexcept;
  /// The largest keys, largest first.
  const std::vector<sampled_key>& largest() const noexcept { return largest_; }
  /// Keys of at least big_key_bytes, largest first (at most `big_list` of them).
  const std::vector<sampled_key>& big_keys() const noexcept { return big_; }
  /// How many keys were at least big_key_bytes (may exceed big_keys().size()).
  std::uint64_t big_key_count() const noexcept { return big_count_; }
  /// The threshold.
  std::uint64_t big_key_bytes() const noexcept { return big_key_bytes_; }
  /// Keys whose name holds bytes outside printable ASCII.
  std::uint64_t binary_names() const noexcept { return binary_names_; }
  /// Keys whose name has a hash tag ({...} with something inside).
  std::uint64_t hash_tagged() const noexcept { return hash_tagged_; }
  /// Sum of the keys' slack: memory the source holds that a copy would not.
  std::uint64_t slack_bytes() const noexcept { return slack_; }
  /// Keys per measurement method.
  std::uint64_t measured_by(size_source source) const noexcept {
    return by_source_[static_cast<std::size_t>(source)];
  }

 private:
  void keep_largest(const sampled_key& key, std::vector<sampled_key>& list, std::size_t limit);

  std::uint64_t big_key_bytes_;
  std::size_t top_;
  std::size_t big_limit_;
  std::uint64_t keys_ = 0;
  std::uint64_t bytes_ = 0;
  std::uint64_t name_bytes_ = 0;
  std::uint64_t slack_ = 0;
  std::uint64_t with_ttl_ = 0;
  double ttl_sum_ms_ = 0;
  std::uint64_t big_count_ = 0;
  std::uint64_t binary_names_ = 0;
  std::uint64_t hash_tagged_ = 0;
  std::array<std::uint64_t, 3> by_source_{};
  std::array<std::uint64_t, 12> sizes_{};
  std::array<std::uint64_t, 7> ttls_{};
  std::map<std::string, type_share> types_;
  std::vector<sampled_key> largest_;
  std::vector<sampled_key> big_;
};

/// True when `key` holds a byte outside printable ASCII (0x20..0x7e).
bool binary_name(std::string_view key) noexcept;

/// True when `key` has a hash tag: a '{' followed later by a '}' with at least one byte between
/// (the first such pair decides the slot, as in the cluster specification).
bool has_hash_tag(std::string_view key) noexcept;

/// The allocation jemalloc makes for `bytes` (its size classes: multiples of 16 up to 128, then
/// four classes per power of two), which is what a listpack of that length occupies.
std::uint64_t allocation_size(std::uint64_t bytes) noexcept;

/// The bytes a stream keeps in its last node's preallocation on Redis >= 7 (and Valkey), which
/// the same stream restored from DUMP does not: XADD opens each node with
/// min(4096, stream-node-max-bytes) bytes allocated and shrinks a node only when it closes, while
/// RESTORE allocates each node at its length. The last node's length is estimated from the
/// DUMP's length (less 64 bytes of IDs and counters), the stream's XLEN and the node limits:
/// nodes close at `node_max_entries` entries or `node_max_bytes` bytes, whichever comes first.
std::uint64_t stream_slack(std::uint64_t dump_bytes, std::uint64_t entries,
                           std::uint64_t node_max_entries, std::uint64_t node_max_bytes) noexcept;

/// "12.3 MiB", "512 B".
std::string human_bytes(double bytes);

}  // namespace ferry::engine
