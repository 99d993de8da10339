#pragma once
// What a `ferry import` job is asked to do, filled by the CLI or by tests, and what it reports.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/copy_config.hpp"
#include "engine/copy/copy_job.hpp"
#include "engine/copy/counters.hpp"
#include "engine/runtime/settings.hpp"
#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// A `ferry import` job.
struct import_config {
  /// The RDB file: a path, or "-" for stdin; gzip is recognized by its first bytes.
  std::string input;
  /// Where keys go.
  side target;
  /// The file's database to import; none: the only one that holds keys (a file with several
  /// is refused, naming them).
  std::optional<std::uint64_t> db;
  /// Keys that exist on the target.
  existing_policy existing = existing_policy::unset;
  /// JSON-lines file for keys that could not be imported; empty for none.
  std::string failed_keys_path;
  /// Performance settings (batch_keys, batch_bytes, max_inflight_bytes, writers_per_shard,
  /// threads: the writer threads, timeouts).
  tuning tune;
  /// Write rate limits (max_keys_per_sec, max_bytes_per_sec); the rest is unused.
  source_protection protect;
  /// State file and resume: the file offset up to which every key is settled.
  checkpointing state;
  /// Keys whose DUMP payload is over this many bytes are never held whole: the reader streams
  /// their values and struct mode writes them in chunks (--big-key-bytes); 0: the payload limit
  /// (half of --max-inflight-bytes) alone decides.
  std::size_t big_key_bytes = 0;
  /// --mode struct: every key is written with type commands instead of RESTORE.
  bool force_struct = false;
  /// Read a regular file once before importing it: its CRC64 and structure are checked and its
  /// databases counted before anything is written.
  bool precheck = true;
};

/// One database of the file.
struct file_database {
  /// Its number.
  std::uint64_t db = 0;
  /// Keys in it (RESIZEDB's count, or keys counted while reading); nothing when the file does
  /// not say (RDB files before 7 have no RESIZEDB).
  std::optional<std::uint64_t> keys;
};

/// Module types met in the file.
struct module_keys {
  /// The module's type name ("ReJSON-RL").
  std::string name;
  /// Keys of that type.
  std::uint64_t keys = 0;
};

/// What an import did.
struct import_report {
  /// How it ended (left_behind: other databases of the file hold keys, read from stdin).
  job_status status = job_status::fatal;
  /// Keys of the imported database: scanned = read from the file, copied = written, vanished =
  /// already expired (skipped), skipped / failed as in copy, bytes = payload bytes written.
  counts totals;
  /// What this run did (totals minus what an earlier run had settled).
  counts this_run;
  /// The fatal failure, when status is `fatal`.
  std::optional<protocol::failure> failure;
  /// Wall-clock seconds.
  double duration_s = 0;
  /// The input as given, and the target (redacted URL).
  std::string input, target;
  /// The file: its size on disk (0 for stdin), bytes of it read by this run, gzip, RDB version.
  std::uint64_t file_size = 0;
  std::uint64_t file_bytes_read = 0;
  bool gzip = false;
  std::uint16_t rdb_version = 0;
  /// The database imported.
  std::uint64_t db = 0;
  /// Every database of the file that holds keys.
  std::vector<file_database> databases;
  /// Databases of the file not imported that hold keys (a stdin import met them late).
  std::vector<file_database> left_behind;
  /// The target's RDB version (0: unknown, payloads sent as they are) and what it is.
  std::uint16_t target_rdb_version = 0;
  std::string target_server;
  /// Payloads whose trailer was rewritten for the target (exact downgrade).
  std::uint64_t downgraded = 0;
  /// Keys RESTORE could not carry that struct mode could not write either (a module's value,
  /// field expiries into a target without them, ...): failed, listed in --failed-keys with the
  /// reason.
  std::uint64_t needs_struct = 0;
  /// The target refused RESTORE: every key was written with type commands.
  bool restore_refused = false;
  /// Function libraries in the file, and how many were restored on the target.
  std::uint64_t functions = 0;
  std::uint64_t functions_restored = 0;
  /// Module types of the file's keys.
  std::vector<module_keys> modules;
  /// True when the job continued a state file; the offset it started from and where it stands.
  bool resumed = false;
  std::uint64_t start_offset = 0;
  std::uint64_t offset = 0;
  /// True once every key of the file is settled and its CRC64 checked.
  bool complete = false;
  /// True when the file's trailing CRC64 was present and checked.
  bool checksum_checked = false;
  /// Highest payload bytes held at once, and writer threads.
  std::size_t peak_inflight_bytes = 0;
  unsigned threads = 0;
  /// Things a person must know although the job went on.
  std::vector<std::string> warnings;
};

}  // namespace ferry::engine
