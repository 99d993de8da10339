#pragma once
// The feed of an import: reads the RDB file record by record (on a thread of its own: the reads
// and the payloads' CRC64 are its CPU, the writers' RESP is theirs) and hands the target's
// writers record batches, as a shard's readers do in a copy:
//
//   file ──► feed (this) ──batches──► relays ──► writers (engine/copy/write_stage.hpp) ──► ledger
//
// Per key: another database of the file is walked over (and counted); a key already expired is
// skipped and counted (`vanished` in the counters, "expired" in reports); a payload newer than
// the target takes is rewritten where that is exact (protocol/rdb downgrade_payload). Keys
// RESTORE cannot carry (a type or encoding the target does not know, a value over the payload
// limit or --big-key-bytes, which the reader streams as events, every key when the target
// refuses RESTORE or with --mode struct) are written by the feed itself with type commands
// (struct_writer.hpp) before it reads on, and settled in the batch they belong to. Function
// libraries are handed to `restore_function` as they come (they precede the keys in a file).
//
// Memory: the reader's buffer and one payload up to the payload limit, plus the batch being
// built; the channel to the relays holds a few batches, and the relays wait for the writer
// thread's byte budget before they pass one on. A key written by struct mode adds one chunk of
// commands (about 512 KiB) and one element being assembled; a streamed value is never held.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/batches.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/import/file_ledger.hpp"
#include "engine/import/import_config.hpp"
#include "engine/import/struct_writer.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/runtime/result.hpp"
#include "protocol/rdb/reader.hpp"

namespace ferry::engine {

/// Record batches from the feed's thread to the writer threads' relays.
using feed_channel =
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code, record_batch)>;

/// What identifies an RDB file in a state file: its version, the AUX fields a server writes when
/// it saves (when it was saved, from which replication offset, its memory), and its size.
struct file_identity {
  /// "REDIS" or "VALKEY", and the RDB version.
  std::string magic;
  std::uint16_t version = 0;
  /// redis-ver, ctime, used-mem, repl-id, repl-offset, aof-base, when the file has them.
  std::map<std::string, std::string> aux;
  /// The file's size on disk; 0 when unknown (stdin).
  std::uint64_t size = 0;

  /// One line naming all of it, compared as a whole ("RDB 11; ctime=...; size=...").
  std::string fingerprint() const;
};

/// What a whole read of the file found (the check pass before an import).
struct file_survey {
  /// The header and the identity.
  protocol::rdb::file_header header;
  file_identity identity;
  /// Databases that hold keys, in file order, with RESIZEDB's counts where the file has them.
  std::vector<file_database> databases;
  /// Function libraries.
  std::uint64_t functions = 0;
  /// True when the trailing CRC64 was present and matched.
  bool checksum_checked = false;
};

/// Reads the whole input once without building payloads: its structure and CRC64 are checked,
/// its databases listed. The error names the file, the byte offset and what is wrong.
maybe<file_survey> survey_file(protocol::rdb::byte_source& source, const std::string& name,
                               std::uint64_t file_size);

/// What the feed found besides keys; read by the job once the feed has ended.
struct feed_findings {
  /// The header and the identity (complete once the first non-AUX record was read).
  protocol::rdb::file_header header;
  file_identity identity;
  /// The database imported (the one asked for, or the first that held keys).
  std::optional<std::uint64_t> db;
  /// Keys met in other databases, by database.
  std::map<std::uint64_t, std::uint64_t> other_dbs;
  /// RESIZEDB's key count of each database, where the file has one.
  std::map<std::uint64_t, std::uint64_t> db_sizes;
  /// Payloads rewritten for the target; keys that struct mode could not carry either (failed,
  /// with the reason in the failed-keys file).
  std::uint64_t downgraded = 0;
  std::uint64_t needs_struct = 0;
  /// The target refuses RESTORE: every key went to struct mode.
  bool restore_refused = false;
  /// Function libraries read, and restored on the target.
  std::uint64_t functions = 0;
  std::uint64_t functions_restored = 0;
  /// Module types of keys of the imported database, with their key counts.
  std::map<std::string, std::uint64_t> modules;
  /// True once the file's end was read (and its CRC64 checked, when it has one).
  bool end_reached = false;
  bool checksum_checked = false;
  /// Offset of the last byte read.
  std::uint64_t offset = 0;
  /// The file could not be read on (damaged, cut short): the keys read whole before were still
  /// handed on; the job fails with this once they are settled.
  std::optional<protocol::failure> failure;
  /// Messages to show once.
  std::vector<std::string> warnings;
};

/// Everything the feed is given.
struct feed_context {
  /// The job.
  const import_config& config;
  /// The (decompressed) file, and its name for messages and the failed-keys file.
  protocol::rdb::byte_source& source;
  std::string label;
  /// Keys whose record starts before this offset were settled by an earlier run.
  std::uint64_t start_offset = 0;
  /// The target's RDB version; none: payloads are sent as they are.
  std::optional<std::uint16_t> target_version;
  /// Values whose payload would be larger are streamed by the reader (struct mode's).
  std::size_t max_payload_bytes = std::size_t{16} << 20;
  /// Where batches are registered, counted, recorded when they fail, and sent.
  file_ledger& ledger;
  shard_counters& counters;
  failed_keys& failures;
  job_control& control;
  rate_limiter& limiter;
  feed_channel& out;
  /// Receivers of `out`, each told the end of the stream.
  unsigned consumers = 1;
  /// Called once the file's identity is known (before any key is sent): an error stops the job
  /// (a state file written for another file).
  std::function<maybe<void>(const file_identity&)> check_identity;
  /// Restores one function library on the target; true when restored, false when the target
  /// cannot hold it (a warning is added); an error stops the job.
  std::function<boost::asio::awaitable<maybe<bool>>(std::string_view code)> restore_function;
  /// Struct mode's writer (on the feed's thread); null: keys RESTORE cannot carry fail.
  struct_writer* structs = nullptr;
  /// Every key goes to struct mode, and why (forced: --mode struct; restore_refused).
  rebuild_reason all_struct = rebuild_reason::none;
  /// What was found.
  feed_findings& found;
};

/// Reads the file to its end (or until the job stops) and ends the stream for every consumer.
boost::asio::awaitable<void> feed_file(feed_context& context);

}  // namespace ferry::engine
