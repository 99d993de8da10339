#pragma once
// A streaming RDB file reader. It walks the file's structure record by record and gives, per
// key, its database, name, type, absolute expiry, LRU/LFU hints, the byte offset where its
// record starts, and EITHER its DUMP payload (built by copying the value's bytes while walking
// their lengths, never decoding them: the payload carries the file's RDB version and a fresh
// CRC64) OR, for a value whose serialization is over `max_payload_bytes`, a decoded event stream
// (`next_value_event`). Memory is bounded by `max_payload_bytes` whatever the file size: measured
// peak RSS is 1-3x that limit (glibc keeps a freed payload buffer resident for the next), e.g.
// 49 MB for a 1.1 GB stream of a 1 GiB string, a 2M-element list and 200k keys at 16 MiB.
//
// Everything the format holds is reported: AUX fields, SELECTDB, RESIZEDB and SLOT_INFO hints,
// function libraries (FUNCTION2, and the 7.0-RC format), MODULE_AUX records (walked; named), and
// at the end whether the trailing CRC64 matched (it is checked from RDB 5 on; a zero CRC means
// the file was saved with `rdbchecksum no` and is reported unchecked). Keys already expired are
// reported like the others, with their expiry: the caller decides. Errors name the problem, the
// byte offset and the key being read.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "protocol/rdb/decode.hpp"
#include "protocol/rdb/error.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::protocol::rdb {

/// How the reader works.
struct reader_options {
  /// Values whose DUMP payload would be larger are delivered decoded, in events, instead.
  std::size_t max_payload_bytes = 16 << 20;
  /// Largest AUX value or function library held (they are records, not keys).
  std::size_t max_record_bytes = 64 << 20;
  /// Limits of the decoder used for those values.
  decode_options decode;
  /// Resume: keys whose record starts before this offset are walked but not reported (other
  /// records still are, so the database is known). 0 reports every key.
  std::uint64_t skip_keys_before = 0;
  /// Refuse a file whose trailing CRC64 does not match (`errc::bad_checksum`).
  bool verify_checksum = true;
  /// Size of the read buffer.
  std::size_t buffer_bytes = 64 * 1024;
};

/// The 9-byte header.
struct file_header {
  /// "REDIS" or "VALKEY".
  std::string magic;
  /// The RDB version.
  std::uint16_t version = 0;
  /// Which family's type ids the file uses.
  rdb::flavor flavor = rdb::flavor::redis;
  /// True when the version is newer than the newest this library knows (read anyway; types and
  /// opcodes it does not know are errors).
  bool newer_than_known = false;
};

/// What a record is.
enum class record_type : std::uint8_t {
  aux,              ///< `name`, `value`
  select_db,        ///< `db`
  resize_db,        ///< `db_size`, `expires_size` (hints)
  slot_info,        ///< `slot`, `slot_size`, `slot_expires_size` (hints, cluster files)
  function,         ///< `value`: a library's code (FUNCTION2: what FUNCTION LOAD takes)
  function_pre_ga,  ///< 7.0 RC format: `name`, `engine`, `description`, `value` (the body)
  module_aux,       ///< `module_id`, `module_when` (walked, not interpreted)
  key,              ///< `key`
  end,              ///< EOF: `checksum_checked`, `checksum`
};

/// A key and its value.
struct key_entry {
  /// Database number (from the last SELECTDB; 0 before any).
  std::uint64_t db = 0;
  /// Key bytes.
  std::string key;
  /// RDB type id (meaning depends on the file's version).
  std::uint8_t type_id = 0;
  /// Logical type.
  value_kind kind = value_kind::string;
  /// Absolute expiry in ms since the epoch; 0 for none (a stored time <= 0 reads as 1).
  std::int64_t expire_ms = 0;
  /// LRU idle seconds (OBJECT IDLETIME), when the file has them.
  std::optional<std::uint64_t> lru_idle;
  /// LFU counter (OBJECT FREQ), when the file has it.
  std::optional<std::uint8_t> lfu_freq;
  /// Offset of the key's first byte in the file (its first expiry/LRU/LFU opcode, or its type
  /// byte): where a resumed read must start reporting again.
  std::uint64_t offset = 0;
  /// The DUMP payload in the file's RDB version (empty when `streamed`).
  std::string payload;
  /// True when the value is over `max_payload_bytes`: read it with `next_value_event()`.
  bool streamed = false;
  /// For module values: the module id (`module_name`, `module_encver`).
  std::optional<std::uint64_t> module_id;
};

/// One record of the file. Valid until the next call on the reader.
struct record {
  /// What it is.
  record_type type = record_type::aux;
  /// Offset of its first byte.
  std::uint64_t offset = 0;
  /// aux: field name; function_pre_ga: library name.
  std::string name;
  /// aux: field value; function / function_pre_ga: the code.
  std::string value;
  /// function_pre_ga: engine name.
  std::string engine;
  /// function_pre_ga: description (empty when none).
  std::string description;
  /// select_db: the database.
  std::uint64_t db = 0;
  /// resize_db: keys in the database.
  std::uint64_t db_size = 0;
  /// resize_db: keys with an expiry.
  std::uint64_t expires_size = 0;
  /// slot_info: the slot.
  std::uint64_t slot = 0;
  /// slot_info: keys in the slot.
  std::uint64_t slot_size = 0;
  /// slot_info: keys with an expiry in the slot.
  std::uint64_t slot_expires_size = 0;
  /// module_aux: the module id.
  std::uint64_t module_id = 0;
  /// module_aux: 1 = before the keys, 2 = after.
  std::uint64_t module_when = 0;
  /// key: the key.
  key_entry key;
  /// end: true when a CRC64 was present (RDB 5+, not zero) and matched.
  bool checksum_checked = false;
  /// end: the CRC64 stored in the file (0 when none).
  std::uint64_t checksum = 0;
};

/// Reads one RDB file from a byte source, forward only. Not thread-safe.
class file_reader {
 public:
  /// Reads from `source`, which must outlive the reader.
  explicit file_reader(byte_source& source, reader_options options = {});
  ~file_reader();
  file_reader(const file_reader&) = delete;
  file_reader& operator=(const file_reader&) = delete;

  /// Reads and checks the header (also done by the first `next()`).
  result<const file_header*> open();
  /// The next record; after `end`, nullptr. If the last key was `streamed` and its events were
  /// not all read, they are skipped first. After an error every call returns that error.
  result<const record*> next();
  /// For a `streamed` key: its next value event (`end` last, then nullptr).
  result<const value_event*> next_value_event();
  /// Bytes consumed so far.
  std::uint64_t offset() const noexcept;
  /// The header (valid after a successful `open()`).
  const file_header& header() const noexcept { return header_; }

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  file_header header_;
};

}  // namespace ferry::protocol::rdb
