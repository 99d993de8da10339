#pragma once
// The verifier's server-side digests, and the pure rule choosing one for a pair of servers.
//
// Two scripts, both returning the SHA-1 (hex) of a key's value, `false` for a missing key and
// 'big' for a key estimated over ARGV[1] bytes (compared element by element instead):
//  - the DUMP digest hashes DUMP without its version/CRC trailer. Cheap (one DUMP), and exact
//    between servers of one version; across versions the same value is often encoded
//    differently (listpack vs ziplist, intset vs listpack, ...) and the digests differ, which
//    costs an element-wise comparison of an equal key.
//  - the canonical digest hashes a type-aware form that does not depend on the encoding: a
//    string's bytes; a list in order; set members and hash fields sorted; sorted-set members in
//    their defined order with scores reformatted as %.17g (Redis 7 prints the shortest form, 6.x
//    17 digits); a stream's entries, length, last id and consumer groups (last-delivered id,
//    pending count, consumers with their pending counts, the pending entries with owner and
//    delivery count, not idle times); with ARGV[3] = '1' (both servers >= 7) also the
//    stream's entries-added, max-deleted and first ids and the groups' entries-read; with
//    ARGV[2] = '1' (the server holds hash-field expiries, Redis >= 7.4) each field's absolute
//    expiry when it has one. Expiry of the key itself is read separately (PEXPIRETIME/PTTL).
// With ARGV[4] = '1' both digest a string as the canonical one does,
// sha1("string,<length>:<bytes>"), which is what verify computes itself for strings it reads whole
// (string_digest): a string's digest is then the same whichever way it was read. Both run on Redis
// 5 (Lua 5.1, no shebang, no functions newer than 5.0) and are read-only, and use only commands
// verify needs anyway (TYPE, the length and read commands, DUMP, XINFO, XPENDING, HPEXPIRETIME), so
// the ACL rules need nothing more than EVAL/EVALSHA.

#include <string>
#include <string_view>

namespace ferry::engine {

/// DUMP without its 10-byte trailer, hashed. ARGV[1]: the size limit.
extern const std::string_view dump_digest_script;

/// The encoding-independent digest. ARGV[1]: the size limit; ARGV[2]: '1' to include hash-field
/// expiries; ARGV[3]: '1' to include the stream fields of Redis 7.
extern const std::string_view canonical_digest_script;

/// The digest of a string value both scripts give with ARGV[4] = '1'.
std::string string_digest(std::string_view value);

/// A server's version as INFO reports it (Valkey reports redis_version 7.2.x); 0.0 when hidden.
struct server_version {
  int major = 0;
  int minor = 0;
  friend bool operator==(const server_version&, const server_version&) = default;
};

/// How a pair of servers is digested.
struct digest_plan {
  /// The canonical digest (different or unknown versions); else the DUMP digest.
  bool canonical = false;
  /// The source answers HPEXPIRETIME (Redis >= 7.4).
  bool source_field_ttls = false;
  /// The same for the target.
  bool target_field_ttls = false;
  /// Both report Redis 7 stream metadata (entries-added, max-deleted-entry-id, entries-read).
  bool stream_v7 = false;
};

/// True for a server holding hash-field expiries (Redis 7.4 and later).
bool holds_field_ttls(server_version v) noexcept;

/// Same known version on both sides: the DUMP digest; otherwise the canonical one.
digest_plan plan_digest(server_version source, server_version target) noexcept;

}  // namespace ferry::engine
