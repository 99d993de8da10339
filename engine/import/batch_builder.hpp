#pragma once
// Record batches built from an RDB file's keys: small keys and payloads are copied into one
// buffer per batch (one allocation and one reference count for the batch, not two per key),
// large payloads are moved into their own buffer (never copied).
//
// Thread: one (the feed's).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/copy/batches.hpp"

namespace ferry::engine {

/// See the file comment.
class batch_builder {
 public:
  /// Payloads of at least `own_buffer_bytes` get a buffer of their own.
  explicit batch_builder(std::size_t own_buffer_bytes = std::size_t{64} << 10)
      : own_buffer_bytes_(own_buffer_bytes) {}

  /// Adds a key to RESTORE with `payload` (moved from when it is large) and its absolute expiry
  /// (0 for none).
  void add(std::string_view key, std::string& payload, std::int64_t expire_at_ms);

  /// Keys added since the last seal.
  std::size_t keys() const noexcept { return entries_.size(); }
  /// Key and payload bytes added since the last seal.
  std::size_t bytes() const noexcept { return bytes_; }

  /// The batch of everything added, as batch `seq` (its charge is its bytes); starts afresh.
  record_batch seal(std::uint64_t seq);

 private:
  struct entry {
    std::size_t key_at = 0, key_size = 0;
    std::size_t payload_at = 0, payload_size = 0;
    std::int64_t expire_at_ms = 0;
    std::size_t own = SIZE_MAX;  // index into owned_, or SIZE_MAX when in the arena
  };

  std::size_t own_buffer_bytes_;
  std::string arena_;
  std::vector<std::string> owned_;
  std::vector<entry> entries_;
  std::size_t bytes_ = 0;
  std::size_t last_arena_bytes_ = 0;  // what the next arena reserves
};

}  // namespace ferry::engine
