#pragma once
// The vocabulary of the RDB format: value type ids, opcodes, versions and the two flavours.
//
// Redis and Valkey share RDB versions 1-11 (Redis 7.2 / Valkey 8 write 11). Then they part:
// Redis 7.4 writes 12 (hash-field expiry types 22-25) and Redis 8 goes on from there; Valkey 9
// writes 80 with the magic "VALKEY080", calls 12-79 "foreign", and gives type id 22 another
// meaning (RDB_TYPE_HASH_2). So a type id means something only together with a version.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::protocol::rdb {

/// Value type ids (the byte before a key in a file; the first byte of a DUMP payload).
namespace type {
inline constexpr std::uint8_t string = 0;               ///< string (raw, int or LZF encoded)
inline constexpr std::uint8_t list = 1;                 ///< list as N strings (before 3.2)
inline constexpr std::uint8_t set = 2;                  ///< set as N strings
inline constexpr std::uint8_t zset = 3;                 ///< zset, scores as text (before 4.0)
inline constexpr std::uint8_t hash = 4;                 ///< hash as N field/value strings
inline constexpr std::uint8_t zset_2 = 5;               ///< zset, scores as binary doubles (4.0+)
inline constexpr std::uint8_t module_pre_ga = 6;        ///< module value of 4.0 RCs (unsupported)
inline constexpr std::uint8_t module_2 = 7;             ///< module value with parseable opcodes
inline constexpr std::uint8_t hash_zipmap = 9;          ///< hash as a zipmap (2.2-era)
inline constexpr std::uint8_t list_ziplist = 10;        ///< list as one ziplist (before 3.2)
inline constexpr std::uint8_t set_intset = 11;          ///< set of integers as an intset
inline constexpr std::uint8_t zset_ziplist = 12;        ///< zset as a ziplist (before 7.0)
inline constexpr std::uint8_t hash_ziplist = 13;        ///< hash as a ziplist (before 7.0)
inline constexpr std::uint8_t list_quicklist = 14;      ///< list as ziplist nodes (3.2-6.2)
inline constexpr std::uint8_t stream_listpacks = 15;    ///< stream, 5.0 layout
inline constexpr std::uint8_t hash_listpack = 16;       ///< hash as a listpack (7.0+)
inline constexpr std::uint8_t zset_listpack = 17;       ///< zset as a listpack (7.0+)
inline constexpr std::uint8_t list_quicklist_2 = 18;    ///< list as listpack/plain nodes (7.0+)
inline constexpr std::uint8_t stream_listpacks_2 = 19;  ///< stream with first/max-deleted ids (7.0)
inline constexpr std::uint8_t set_listpack = 20;        ///< set as a listpack (7.2+)
inline constexpr std::uint8_t stream_listpacks_3 = 21;  ///< stream with consumer active-time (7.2)
/// Redis 7.4 RCs: hash with field TTLs, absolute TTLs, no min-expiry header.
inline constexpr std::uint8_t hash_metadata_pre_ga = 22;
/// Redis 7.4 RCs: listpack hash with field TTLs, no min-expiry header.
inline constexpr std::uint8_t hash_listpack_ex_pre_ga = 23;
/// Redis 7.4: hash with field TTLs (relative to a min-expiry header).
inline constexpr std::uint8_t hash_metadata = 24;
/// Redis 7.4: listpack hash of field/value/expiry triplets after a min-expiry header.
inline constexpr std::uint8_t hash_listpack_ex = 25;
/// Valkey 9 (RDB 80): hash of field, value, 8-byte absolute expiry (-1 none). Same byte as
/// Redis's `hash_metadata_pre_ga`: which one a 22 is depends on the version.
inline constexpr std::uint8_t valkey_hash_2 = 22;
}  // namespace type

/// Opcodes of an RDB file (bytes that are not value types at the start of a record).
namespace opcode {
inline constexpr std::uint8_t slot_import = 243;      ///< Valkey 9 slot-import state (unsupported)
inline constexpr std::uint8_t slot_info = 244;        ///< cluster slot sizes (7.4+), a hint
inline constexpr std::uint8_t function2 = 245;        ///< one function library (7.0+)
inline constexpr std::uint8_t function_pre_ga = 246;  ///< function of 7.0 RCs (name, engine, ...)
inline constexpr std::uint8_t module_aux = 247;       ///< module data outside the keyspace
inline constexpr std::uint8_t idle = 248;             ///< LRU idle seconds of the next key
inline constexpr std::uint8_t freq = 249;             ///< LFU counter of the next key
inline constexpr std::uint8_t aux = 250;              ///< AUX field: name, value
inline constexpr std::uint8_t resizedb = 251;         ///< sizes of the selected db (a hint)
inline constexpr std::uint8_t expiretime_ms = 252;    ///< absolute expiry (ms) of the next key
inline constexpr std::uint8_t expiretime = 253;       ///< absolute expiry (s) of the next key
inline constexpr std::uint8_t selectdb = 254;         ///< the database of the following keys
inline constexpr std::uint8_t eof = 255;              ///< end of the file (CRC64 follows)
}  // namespace opcode

/// Opcodes inside a module value (RDB_MODULE_OPCODE_*).
namespace module_opcode {
inline constexpr std::uint64_t eof = 0;      ///< end of the module value
inline constexpr std::uint64_t sint = 1;     ///< signed integer (a length-encoded number)
inline constexpr std::uint64_t uint = 2;     ///< unsigned integer (a length-encoded number)
inline constexpr std::uint64_t float32 = 3;  ///< 4-byte float
inline constexpr std::uint64_t float64 = 4;  ///< 8-byte double
inline constexpr std::uint64_t string = 5;   ///< an RDB string
}  // namespace module_opcode

/// RDB versions ferry knows.
namespace version {
inline constexpr std::uint16_t oldest = 1;          ///< Redis 1.x
inline constexpr std::uint16_t redis_5 = 9;         ///< Redis 5.0 and 6.x
inline constexpr std::uint16_t redis_7_0 = 10;      ///< Redis 7.0 (listpacks, functions)
inline constexpr std::uint16_t redis_7_2 = 11;      ///< Redis 7.2, Valkey 7.2-8.1
inline constexpr std::uint16_t redis_7_4 = 12;      ///< Redis 7.4 and 8.0 (hash-field TTLs)
inline constexpr std::uint16_t newest_redis = 12;   ///< newest Redis version whose types we know
inline constexpr std::uint16_t valkey_first = 80;   ///< Valkey 9's own numbering starts here
inline constexpr std::uint16_t newest_valkey = 80;  ///< newest Valkey version whose types we know
/// Checksums exist from this version on (an RDB file's trailer; payloads always have one).
inline constexpr std::uint16_t with_checksum = 5;
/// Downgrades to versions below this are refused: ziplists written by any server of RDB 6+
/// may hold 24-bit integers, which older servers cannot read.
inline constexpr std::uint16_t oldest_downgrade_target = 6;
}  // namespace version

/// Which family wrote a version's type ids.
enum class flavor : std::uint8_t {
  redis,   ///< versions 1-79: Redis (and Valkey up to 8.x, which writes 11)
  valkey,  ///< versions 80+: Valkey 9 and later ("VALKEY" magic)
};

/// The flavour of type ids written with RDB `version`.
constexpr flavor flavor_of(std::uint16_t version) noexcept {
  return version >= version::valkey_first ? flavor::valkey : flavor::redis;
}

/// The logical type a value decodes to (what TYPE says).
enum class value_kind : std::uint8_t {
  string,  ///< string
  list,    ///< list
  set,     ///< set
  zset,    ///< sorted set
  hash,    ///< hash
  stream,  ///< stream
  module,  ///< a module's own type
};

/// "string", "list", ... (as TYPE prints it; "module" for module values).
std::string_view kind_name(value_kind kind) noexcept;

/// What a type id means in some version.
struct type_info {
  /// The id.
  std::uint8_t id = 0;
  /// A short name ("hash-listpack", "stream-v3", ...), as redis-check-rdb prints it.
  std::string_view name;
  /// The logical type.
  value_kind kind = value_kind::string;
  /// The first RDB version (of this id's flavour) that writes and reads it.
  std::uint16_t since = 1;
};

/// What `id` means in RDB `version`, or nullopt when that version has no such type (or one this
/// library does not know, e.g. the types Redis added after RDB 12).
std::optional<type_info> describe_type(std::uint8_t id, std::uint16_t version) noexcept;

/// True when a server writing RDB `target` reads type `id` of RDB `version` as the same thing:
/// the id exists in `target` with the same meaning. This is what makes a trailer rewrite exact.
bool same_type_in(std::uint8_t id, std::uint16_t version, std::uint16_t target) noexcept;

/// True when a server of RDB `target` accepts a payload (or file) of RDB `version` in its default
/// configuration: Redis accepts 1..target; Valkey 9+ accepts 1..11 and 80..target (it refuses
/// the "foreign" 12-79 unless `rdb-version-check relaxed`).
bool accepts_version(std::uint16_t target, std::uint16_t version) noexcept;

/// The 9-character type name encoded in a module id ("ReJSON-RL", "MBbloom--", ...).
std::string module_name(std::uint64_t module_id);

/// The module's encoding version (the low 10 bits of a module id).
constexpr unsigned module_encver(std::uint64_t module_id) noexcept {
  return static_cast<unsigned>(module_id & 1023);
}

}  // namespace ferry::protocol::rdb
