#pragma once
// What a copy learns about the two servers' versions before its first key, and the small
// chores that come with struct mode's temporary keys:
//
// - **Versions.** Each side's product and version (INFO server: redis_version, and Valkey's
//   valkey_version), and the RDB version of its DUMP payloads: the source's from a DUMP of one
//   of its keys (the smallest of a few sampled by MEMORY USAGE, under 64 KiB, read-only), the
//   target's from a DUMP of a probe value written under the reserved prefix `ferry:probe:` (with a
//   short expiry, deleted at once). The same probe tells whether the target takes RESTORE at all,
//   so a target that does not starts the job in struct mode instead of learning it from the first
//   refusal.
// - **Temporary keys.** A resumed job deletes the temporary keys (`ferry:tmp:{TAG}:<job>:*`) of
//   its own earlier run, on every target master; their short expiry removes them anyway.
//
// Thread: the job's calling thread (blocking, on a private io_context).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/cluster/sides.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"

namespace ferry::engine {

/// The reserved prefix of the target probe's key.
inline constexpr std::string_view probe_key_marker = "ferry:probe:";

/// One side's versions.
struct side_version {
  /// "Redis" or "Valkey".
  std::string product = "Redis";
  /// Its own version ("7.4.1", "8.0.1"); empty when INFO hides it.
  std::string version;
  /// The RDB version of its DUMP payloads; 0 when unknown (an empty source, a refused DUMP).
  int rdb_version = 0;

  /// "Redis 7.4.1 (RDB 12)", "Valkey 8.0.1 (RDB 11)", "Redis (version unknown)".
  std::string describe() const;
};

/// What the look found.
struct versions_seen {
  /// The source.
  side_version source;
  /// The target.
  side_version target;
  /// The target answered the probe's RESTORE with a refusal of the command itself (renamed
  /// away, not allowed): its text.
  std::optional<std::string> restore_refused;
};

/// Looks at both sides (the source's seed node, the target's first master). Never fails the
/// job: what cannot be learned stays unknown.
versions_seen look_at_versions(const inspected_sides& sides, std::string_view job_id,
                               const tuning& tune);

/// The sentence announcing a source newer than the target, with what ferry does about it; empty
/// when the source is not newer (or a version is unknown).
std::string newer_source_notice(const versions_seen& seen, bool force_struct);

/// Deletes the temporary keys of job `job_id` on every target master; how many went.
maybe<std::uint64_t> delete_temp_keys(const inspected_sides& sides, std::string_view job_id,
                                      const tuning& tune);

}  // namespace ferry::engine
