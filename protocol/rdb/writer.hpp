#pragma once
// A streaming RDB file writer (for `ferry export`): header, AUX fields, function libraries,
// SELECTDB + RESIZEDB per database, per key an optional EXPIRETIME_MS then the type byte, the
// key and the value bytes of its DUMP payload, and finally EOF and the CRC64 of the whole file.
// Nothing is held but the CRC: every byte goes straight to the sink.
//
// redis-server needs no AUX field to load a file (it skips those it does not know); the writer
// adds redis-ver, redis-bits, ctime, used-mem and aof-base as Redis itself writes them, so that
// tools reading the file see the usual fields. A payload newer than the file's version is
// rewritten when the rewrite is exact (`downgrade_payload`), otherwise refused.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/rdb/error.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::protocol::rdb {

/// How to write the file.
struct writer_options {
  /// The file's RDB version (its magic is "REDIS%04d", or "VALKEY%03d" from 80 on).
  std::uint16_t version = 11;
  /// Value of the redis-ver AUX field (the version of the server the file claims to come from).
  std::string redis_version = "7.2.0";
  /// Value of the ctime AUX field (seconds since the epoch); 0 = now.
  std::int64_t ctime = 0;
  /// Write the usual AUX fields (redis-ver, redis-bits, ctime, used-mem, aof-base).
  bool standard_aux = true;
};

/// Writes one RDB file into a sink. Call in order: (aux / function)*, then per database
/// `begin_db` and its keys, then `finish`. Not thread-safe.
class file_writer {
 public:
  /// Writes the header (and the standard AUX fields) into `sink`, which must outlive the writer.
  /// Errors (an unsupported version, a failing sink) are reported by the first call.
  file_writer(byte_sink& sink, writer_options options = {});

  /// An AUX field.
  result<void> aux(std::string_view name, std::string_view value);
  /// A function library (its code, as FUNCTION LOAD takes it); files of RDB 10+ only.
  result<void> function(std::string_view code);
  /// The libraries of a FUNCTION DUMP payload (checked, and its version not newer than the
  /// file's), each written as a function record.
  result<void> function_dump(std::string_view payload);
  /// Starts database `db`, with RESIZEDB hints (0 when unknown).
  result<void> begin_db(std::uint64_t db, std::uint64_t keys_hint = 0,
                        std::uint64_t expires_hint = 0);
  /// One key: `payload` is its DUMP payload (checked; its version must not be newer than the
  /// file's unless an exact rewrite exists); `expire_ms` its absolute expiry, 0 for none.
  result<void> key(std::string_view key, std::string_view payload, std::int64_t expire_ms = 0);
  /// Writes EOF and the CRC64. Nothing may be written after.
  result<void> finish();

  /// Bytes written so far.
  std::uint64_t bytes_written() const noexcept { return written_; }
  /// Keys written so far.
  std::uint64_t keys_written() const noexcept { return keys_; }

 private:
  result<void> write(std::string_view bytes);
  result<void> state_error() const;
  void put_length(std::string& out, std::uint64_t n);
  void put_string(std::string& out, std::string_view s);

  byte_sink& sink_;
  writer_options options_;
  std::uint64_t crc_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t keys_ = 0;
  bool in_db_ = false;
  bool finished_ = false;
  std::optional<rdb::error> failed_;
};

}  // namespace ferry::protocol::rdb
