#pragma once
// What every job is given: its sides, tuning, source protection and state file. Filled by the CLI
// or by tests; the jobs' own configs (copy_config, verify_config, ...) hold these.

#include <chrono>
#include <cstddef>
#include <memory>

#include "protocol/wire/endpoint.hpp"
#include "protocol/wire/login_source.hpp"
#include "protocol/wire/tls_options.hpp"

namespace ferry::engine {

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

}  // namespace ferry::engine
