#pragma once
// The file an export writes: an RDB file (protocol/rdb's file_writer) through gzip when asked,
// into a temporary file that takes the output's name once it is whole and on disk. Every key is
// written once (key_dedup), its payload rewritten when the file's version is older and the
// rewrite exact; a payload the version cannot hold stops the export.
//
// Thread: any; write() and the rest take a lock (the shards of every worker thread write here).

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "engine/copy/batches.hpp"
#include "engine/copy/counters.hpp"
#include "engine/import/key_dedup.hpp"
#include "engine/import/rdb_io.hpp"
#include "engine/runtime/result.hpp"
#include "protocol/rdb/writer.hpp"

namespace ferry::engine {

/// How to write the file.
struct export_file_options {
  /// The output path.
  std::string path;
  /// RDB version of the file, and the redis-ver AUX field written.
  std::uint16_t version = 11;
  std::string redis_version = "7.2.0";
  /// zlib level; 0: no compression.
  int gzip_level = 0;
  /// Keys expected (sizes the duplicate check; RESIZEDB's hint), and with an expiry.
  std::uint64_t keys_hint = 0;
  std::uint64_t expires_hint = 0;
  /// The database the keys are written in.
  std::uint64_t db = 0;
};

/// See the file comment.
class export_file {
 public:
  /// Creates the temporary file and writes the header; the error names the path.
  static maybe<std::unique_ptr<export_file>> create(const export_file_options& options);
  ~export_file();

  /// Function libraries as FUNCTION DUMP gives them (before any key).
  maybe<void> functions(std::string_view dump_payload);
  /// Writes the batch's keys that are not in the file yet; `tally` counts them (copied, bytes;
  /// rescanned for a key written before). An error stops the export: a payload the file's
  /// version cannot hold, or a write that failed.
  maybe<void> write(const record_batch& batch, counts& tally);
  /// EOF, CRC64, gzip trailer, fsync, rename. The file exists under its name only after this.
  maybe<void> commit();

  /// Bytes written to the disk so far (compressed, for gzip). Safe from any thread.
  std::uint64_t bytes_written() const noexcept { return file_->sink().produced(); }
  /// Payloads rewritten to the file's version.
  std::uint64_t downgraded() const noexcept { return downgraded_; }
  /// Memory of the duplicate check.
  std::size_t dedup_bytes() const noexcept { return dedup_.memory(); }

 private:
  export_file(const export_file_options& options, std::unique_ptr<atomic_file> file,
              std::unique_ptr<name_store> names);
  maybe<void> failed(const protocol::rdb::error& e) const;

  export_file_options options_;
  std::mutex mutex_;
  std::unique_ptr<atomic_file> file_;
  std::unique_ptr<gzip_sink> gzip_;
  std::unique_ptr<protocol::rdb::file_writer> writer_;
  key_dedup dedup_;
  std::uint64_t downgraded_ = 0;
  std::string scratch_;  // a payload being rewritten
};

}  // namespace ferry::engine
