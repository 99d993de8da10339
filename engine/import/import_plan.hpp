#pragma once
// Everything an import checks and decides before its first key moves: the state file to resume,
// the file (read once when it is a regular file: structure, CRC64, databases), the database to
// import, and the target (reachable, empty unless told otherwise, its RDB version).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/cluster/sides.hpp"
#include "engine/copy/checkpoint.hpp"
#include "engine/import/import_config.hpp"
#include "engine/import/import_feed.hpp"
#include "engine/runtime/result.hpp"

namespace ferry::engine {

/// The decided import.
struct import_plan {
  /// The state file being resumed, if any.
  std::optional<checkpoint> previous;
  /// The check pass's findings (a regular file read with --precheck).
  std::optional<file_survey> survey;
  /// The database to import; none: the first that holds keys (stdin without --db).
  std::optional<std::uint64_t> db;
  /// Keys expected (RESIZEDB of that database; 0 when unknown).
  std::uint64_t estimate = 0;
  /// The job's identity in the state file.
  job_identity identity;
  /// The target's connection settings (TLS context built, db applied) and slot map.
  protocol::connection_options target;
  protocol::server_facts target_facts;
  /// The lowest RDB version among the target's masters; none when one is newer than ferry knows.
  std::optional<std::uint16_t> target_version;
  /// What the target is ("Redis 7.4.1"), for reports.
  std::string target_server;
};

/// The identity of the import `config` describes, its database resolved to `db`.
job_identity import_identity(const import_config& config, std::optional<std::uint64_t> db);

/// "db 0 (1,234 keys), db 3 (17 keys)".
std::string describe_databases(const std::vector<file_database>& databases);

/// Plans the import: the state file, the check pass, the database, the target.
maybe<import_plan> plan_import(const import_config& config);

/// The state file's fingerprint of the file is the same as `identity`'s, or the error says what
/// differs and what to do.
maybe<void> same_file(const checkpoint& previous, const file_identity& identity,
                      const std::string& state_path);

}  // namespace ferry::engine
