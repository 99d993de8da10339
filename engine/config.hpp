#pragma once
// What a copy job is asked to do: the engine's whole input, filled by the CLI or by tests.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "protocol/connection.hpp"
#include "protocol/endpoint.hpp"
#include "protocol/key_slot.hpp"
#include "protocol/tls.hpp"

namespace ferry::engine {

/// What to do with a key that already exists on the target.
enum class existing_policy {
  unset,    ///< none given: refuse to start when the target holds keys
  fail,     ///< record the key as failed and leave the target's value
  skip,     ///< count the key as skipped and leave the target's value
  replace,  ///< overwrite it (RESTORE ... REPLACE)
};

/// One side of a job: where it is and how to log in and verify it.
struct side {
  /// The seed node (any node of a cluster). Its db is used unless overridden.
  protocol::endpoint where;
  /// TLS verification and client certificate, used for rediss:// endpoints.
  protocol::tls_options tls;
  /// Credentials that override the URL's, when given: a fixed password, or an access token
  /// that is renewed while the job runs (engine/credentials.hpp); null for the URL's.
  std::shared_ptr<const protocol::login_source> login;
};

/// Tuning knobs whose defaults come from measurements (bench/RESULTS.md).
struct tuning {
  /// Worker threads; each owns whole source shards. 0 = the number of cores.
  unsigned threads = 0;
  /// SCAN COUNT hint.
  unsigned scan_count = 1000;
  /// Most keys in one DUMP or RESTORE pipeline (1024: 0.68 vs 0.79 ferry CPU s per M small keys
  /// and faster than 512 in bench/RESULTS.md; one SCAN reply of --scan-count keys caps it).
  std::size_t batch_keys = 1024;
  /// Payload bytes one reader batch aims at; the number of keys adapts to observed sizes.
  std::size_t batch_bytes = std::size_t{1} << 20;
  /// Bytes of DUMP payload held in memory at once across all threads.
  std::size_t max_inflight_bytes = std::size_t{64} << 20;
  /// Source connections reading DUMPs, per shard (4: the source is the bottleneck, and 2 readers
  /// left it idle between pipelines; 8 gained little and costs a production source connections).
  unsigned readers_per_shard = 4;
  /// Writer pipelines per shard (each with a connection to every target master it needs).
  unsigned writers_per_shard = 2;
  /// Deadline for connecting (and the TLS handshake).
  std::chrono::milliseconds connect_timeout{10'000};
  /// Deadline for any read or write that makes no progress.
  std::chrono::milliseconds io_timeout{30'000};
  /// How long to keep retrying a node that is unreachable before giving up.
  std::chrono::milliseconds max_retry_time{300'000};
};

/// Keeping a production source responsive.
struct source_protection {
  /// Most keys read per second across all shards; 0 = no limit.
  double max_keys_per_sec = 0;
  /// Most DUMP payload bytes read per second across all shards; 0 = no limit.
  double max_bytes_per_sec = 0;
  /// Read from each master's replica (cluster sources) instead of the master.
  bool read_from_replicas = false;
  /// Slow down while a shard's PING round trip exceeds this; 0 = off.
  std::chrono::milliseconds latency_target{0};
};

/// A long-lived job's state file.
struct checkpointing {
  /// Path of the state file; empty for none.
  std::string path;
  /// Continue from the state file instead of starting over.
  bool resume = false;
  /// How often the state file is written while the job runs (and always at the end).
  std::chrono::milliseconds interval{5'000};
};

/// Comparing what the writers copied, behind them (`ferry copy --verify`).
struct inline_verification {
  /// Compare copied keys at all.
  bool enabled = false;
  /// Fraction of copied keys compared (0 < sample <= 1), chosen by a hash of the key.
  double sample = 1;
  /// Expiries this far apart (ms) still count as equal.
  std::int64_t ttl_tolerance_ms = 1000;
  /// Most comparisons of a key whose source keeps changing before it is called `changed`.
  unsigned rounds = 3;
  /// Pause before a differing key is read again (doubling each round). Shorter than `ferry
  /// verify`'s: the copy knows what it wrote, so a source written since is told apart without
  /// waiting (inline_verify.hpp), and a pause holds up the copy behind it.
  std::chrono::milliseconds recheck_pause{20};
  /// JSON-lines file of differences (the format of `ferry verify --diff`); empty for none.
  std::string diff_path;
  /// Bytes of copied keys (names plus a fixed cost per key) that may wait for the verifier per
  /// shard; beyond it the writers wait, and so does the copy.
  std::size_t queue_bytes = std::size_t{4} << 20;
};

/// A `ferry copy` job.
struct copy_config {
  /// Where keys come from.
  side source;
  /// Where keys go.
  side target;
  /// SCAN MATCH pattern; empty for all keys.
  std::string match;
  /// SCAN TYPE filter (string, list, set, zset, hash, stream); empty for all types.
  std::string type;
  /// Only keys whose hash slot is in this range (also on a standalone source).
  std::optional<protocol::slot_range> slots;
  /// Keys that exist on the target.
  existing_policy existing = existing_policy::unset;
  /// JSON-lines file for keys that could not be copied; empty for none.
  std::string failed_keys_path;
  /// Performance settings.
  tuning tune;
  /// Rate limits, replicas and latency-driven slow-down.
  source_protection protect;
  /// State file and resume.
  checkpointing state;
  /// The inline verifier.
  inline_verification verify;
};

}  // namespace ferry::engine
