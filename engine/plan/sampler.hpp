#pragma once
// Sampling one source master gently: SCAN from the start (a hash table's order, so the first
// keys are as good as random) until enough keys are found, or through the whole keyspace with
// --scan-all; for each key TYPE, PTTL and its size (MEMORY USAGE, or where that is refused the
// DUMP length of keys small enough to serialize cheaply, else an estimate from the type's
// length). Then the DUMP probe: a short run of DUMP + PEXPIRETIME (PTTL before Redis 7), as a
// copy reads keys, on small sampled keys, timed. Everything is rate-limited; nothing is written.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/plan/node_session.hpp"
#include "engine/plan/plan_report.hpp"
#include "engine/runtime/rate_limiter.hpp"

namespace ferry::engine {

/// How to sample one master.
struct sample_request {
  /// Keys wanted from this master (ignored when `all`).
  std::uint64_t keys = 0;
  /// Walk the whole keyspace.
  bool all = false;
  /// SCAN COUNT hint.
  unsigned scan_count = 200;
  /// Keys sized per pipeline.
  unsigned batch_keys = 200;
  /// Keys dumped by the probe at most.
  std::uint64_t probe_keys = 1000;
  /// Keys larger than this are left out of the probe (DUMP of a large value blocks the server
  /// while it serializes).
  std::uint64_t probe_max_bytes = 64 << 10;
  /// The source's major version (PEXPIRETIME from 7 on).
  int major_version = 7;
  /// Streams keep a preallocated last node (Redis >= 7, Valkey): measure that slack.
  bool stream_prealloc = true;
  /// stream-node-max-entries.
  std::uint64_t node_max_entries = 100;
  /// stream-node-max-bytes.
  std::uint64_t node_max_bytes = 4096;
};

/// What sampling one master gave.
struct master_sample {
  /// The keys' statistics.
  sample_stats stats;
  /// The probe.
  dump_probe probe;
};

/// Samples the master behind `session` into `into` (constructed by the caller with the
/// thresholds), then runs the probe. `limiter` paces keys (and probe bytes) across masters.
boost::asio::awaitable<outcome> sample_master(node_session& session, const sample_request& request,
                                              rate_limiter& limiter, master_sample& into);

/// The RDB version in a DUMP payload's trailer (2 bytes little-endian before the 8-byte CRC);
/// 0 when the payload is too short.
unsigned payload_rdb_version(std::string_view payload) noexcept;

}  // namespace ferry::engine
