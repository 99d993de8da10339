#pragma once
// What a `ferry export` job is asked to do, and what it reports.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/copy_job.hpp"
#include "engine/copy/counters.hpp"
#include "engine/runtime/settings.hpp"
#include "protocol/wire/failure.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

/// A `ferry export` job.
struct export_config {
  /// Where keys come from (any node of a cluster).
  side source;
  /// The RDB file to write (it appears only once whole).
  std::string output;
  /// Compress with gzip, at this zlib level (1-9); 0: no compression.
  int gzip_level = 0;
  /// The file's RDB version; none: the highest version among the source's payloads.
  std::optional<std::uint16_t> rdb_version;
  /// SCAN MATCH pattern and TYPE filter; empty for all keys.
  std::string match;
  std::string type;
  /// JSON-lines file for keys that could not be read; empty for none.
  std::string failed_keys_path;
  /// Performance settings (threads, scan_count, batch sizes, readers, timeouts).
  tuning tune;
  /// Rate limits, replicas and latency-driven slow-down on the source.
  source_protection protect;
  /// The source's other databases are meant to stay behind.
  bool ignore_other_dbs = false;
};

/// What one source master gave.
struct export_shard {
  /// "host:port" of the node read.
  std::string source;
  /// Its counters (copied = keys written to the file).
  counts totals;
  /// Its RDB version (what its payloads carry; 0 when unknown).
  std::uint16_t rdb_version = 0;
};

/// What an export did.
struct export_report {
  /// How it ended (keys_failed: some keys could not be read; left_behind: other databases).
  job_status status = job_status::fatal;
  /// Summed over shards: scanned, copied (written to the file), vanished (gone before DUMP),
  /// failed, rescanned (returned twice by SCAN: written once), bytes (payload bytes).
  counts totals;
  /// Per source master.
  std::vector<export_shard> shards;
  /// The fatal failure, when status is `fatal` (the file was not written).
  std::optional<protocol::failure> failure;
  /// Wall-clock seconds.
  double duration_s = 0;
  /// The source (redacted) and the output path.
  std::string source, output;
  /// The file: its RDB version, bytes written (compressed, when gzip), gzip or not.
  std::uint16_t rdb_version = 0;
  std::uint64_t file_bytes = 0;
  bool gzip = false;
  /// The database exported (the file names it too).
  std::uint64_t db = 0;
  /// Payloads whose trailer was rewritten to the file's version (an exact downgrade).
  std::uint64_t downgraded = 0;
  /// Function libraries written.
  std::uint64_t functions = 0;
  /// The source's other databases that hold keys, which this export did not write.
  std::vector<protocol::keyspace_entry> left_behind;
  /// Highest payload bytes held at once, and worker threads.
  std::size_t peak_inflight_bytes = 0;
  unsigned threads = 0;
  /// Bytes of memory that held the names of the keys written (to write each key once).
  std::size_t dedup_bytes = 0;
  /// Things a person must know although the job went on.
  std::vector<std::string> warnings;
};

}  // namespace ferry::engine
