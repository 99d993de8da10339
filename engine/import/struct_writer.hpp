#pragma once
// Struct mode for import: writes one key of an RDB file with type commands, its value's events
// (protocol/rdb value_decoder) turned into commands by event_rebuild (struct_events.hpp) and
// sent to the target master that owns the key's slot, one step at a time.
//
// The feed (import_feed.cpp) calls it for each key RESTORE cannot carry, before it reads the
// next record, so a value streamed by the file reader goes out chunk by chunk as its events come
// (never held whole) and the key is settled before the batch it belongs to leaves the feed: no
// state file can pass a key still being written.
//
// A surprise on the target mid-key (MOVED, ASK, TRYAGAIN, LOADING, a lost connection) starts a
// key whose payload is in memory again from its first event under a new temporary name (after a
// map refresh or a pause); a streamed value cannot be read again, so that key is failed with
// the reason and what to do, never half-written under its real name (its temporary key
// expires).
//
// Thread: the feed's; one key at a time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/cluster/node_links.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/runtime/backoff.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/transfer/key_rebuild.hpp"
#include "protocol/net/discovery.hpp"
#include "protocol/rdb/decode.hpp"

namespace ferry::engine {

/// Where a key's value events come from.
class event_source {
 public:
  virtual ~event_source() = default;
  /// The next event (`end` last, then null).
  virtual protocol::rdb::result<const protocol::rdb::value_event*> next() = 0;
  /// Back to the first event; false when the value cannot be read again.
  virtual bool rewind() = 0;
  /// True when the value is read from the file as it is written (for messages).
  virtual bool streamed() const = 0;
};

/// The events of a DUMP payload held in memory (`payload` must outlive it).
class payload_events final : public event_source {
 public:
  explicit payload_events(std::string_view payload, protocol::rdb::decode_options options = {});
  protocol::rdb::result<const protocol::rdb::value_event*> next() override;
  bool rewind() override;
  bool streamed() const override { return false; }

 private:
  std::string_view payload_;
  protocol::rdb::decode_options options_;
  std::optional<protocol::rdb::value_decoder> decoder_;
  std::optional<protocol::rdb::error> error_;
};

/// Settings of struct mode for one import.
struct struct_settings {
  /// What the target can do (its version).
  rebuild_caps caps;
  /// Chunk sizes, the temporary keys' expiry, attempts.
  rebuild_sizes sizes;
  /// Names the temporary keys (`ferry:tmp:{TAG}:<job>:<n>`).
  std::string job_id;
  /// Keys that exist on the target.
  existing_policy policy = existing_policy::unset;
};

/// See the file comment.
class struct_writer {
 public:
  /// Writes through `router` (the feed thread's view of the target), at most as fast as
  /// `limiter` allows (--max-keys-per-sec, --max-bytes-per-sec: waited out after each step).
  struct_writer(boost::asio::any_io_executor executor, slot_router& router, const tuning& tune,
                job_control& control, const struct_settings& settings, rate_limiter& limiter);

  /// Writes `key` (absolute expiry `expire_at_ms`, 0 none; DUMP payload of `size_hint` bytes,
  /// 0 when streamed) from `events`. The outcome says how the key ended; an error stops the job
  /// (the target unreachable past --max-retry-time, a fatal refusal, the job stopping).
  boost::asio::awaitable<maybe<rebuild_outcome>> write(std::string_view key,
                                                       std::int64_t expire_at_ms,
                                                       std::uint64_t size_hint,
                                                       event_source& events);

  /// A key small enough to share a round trip with others (see write_small).
  struct small_key {
    /// The key, its DUMP payload, its absolute expiry (0 none).
    std::string key;
    std::string payload;
    std::int64_t expire_at_ms = 0;
  };
  /// True when a key with a payload of `payload_bytes` goes in one transaction (and may be
  /// written with others by write_small).
  bool small(std::size_t payload_bytes) const noexcept;
  /// Writes small keys, their transactions pipelined per target master (one round trip for
  /// all the keys of a master); `outcomes[i]` says how key `i` ended. A key a surprise touched
  /// (a redirect, "not now", a lost connection) is written again on its own with write(), as is
  /// one whose value did not come to one transaction. An error stops the job, as write()'s.
  boost::asio::awaitable<maybe<void>> write_small(std::span<const small_key> keys,
                                                  std::vector<rebuild_outcome>& outcomes);

  /// Connection retries and keys started again.
  std::uint64_t retries() const { return targets_.retries() + restarts_; }

 private:
  slot_router& router_;
  const tuning& tune_;
  job_control& control_;
  const struct_settings& settings_;
  rate_limiter& limiter_;
  node_links targets_;
  backoff pause_;
  std::vector<protocol::reply> replies_;
  std::uint64_t restarts_ = 0;
  std::uint64_t keys_ = 0;
};

/// What the target can do for struct mode, from its version.
rebuild_caps import_caps(const protocol::server_facts& target);

}  // namespace ferry::engine
