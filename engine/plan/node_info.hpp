#pragma once
// What one server says about itself in INFO, as the plan needs it: version, role, memory,
// clients, CPU, traffic, keyspace, commands and modules. Pure: parsed from `INFO all`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire/info.hpp"

namespace ferry::engine {

/// INFO memory figures, in bytes (ratios as given).
struct memory_figures {
  /// used_memory: what the allocator holds for Redis (what maxmemory limits).
  std::uint64_t used = 0;
  /// used_memory_peak.
  std::uint64_t peak = 0;
  /// used_memory_startup: an empty server's own memory.
  std::uint64_t startup = 0;
  /// used_memory_dataset: used less every overhead Redis counts (keys' dict entries included).
  std::uint64_t dataset = 0;
  /// used_memory_rss.
  std::uint64_t rss = 0;
  /// mem_clients_normal: buffers of ordinary clients.
  std::uint64_t clients_normal = 0;
  /// mem_clients_slaves: buffers of replicas.
  std::uint64_t clients_replicas = 0;
  /// mem_replication_backlog.
  std::uint64_t replication_backlog = 0;
  /// mem_aof_buffer.
  std::uint64_t aof_buffer = 0;
  /// used_memory_scripts_eval (Redis >= 7) or used_memory_scripts: cached EVAL scripts.
  std::uint64_t eval_scripts = 0;
  /// mem_cluster_links.
  std::uint64_t cluster_links = 0;
  /// maxmemory; 0 = no limit.
  std::uint64_t maxmemory = 0;
  /// maxmemory_policy.
  std::string policy;
  /// mem_fragmentation_ratio.
  double fragmentation = 0;
};

/// The part of used memory that a copy moves: used memory less what belongs to the running
/// server rather than to its data (startup memory, client and replica buffers, the replication
/// backlog, the AOF buffer, cached scripts, cluster links). What the target's used memory grows
/// by when it receives the same keys with the same encodings.
std::uint64_t movable_bytes(const memory_figures& memory) noexcept;

/// One server's INFO, parsed.
struct node_info {
  /// redis_version as given ("7.0.15"; Valkey reports the Redis version it is compatible with).
  std::string version_text;
  /// redis_version as (major, minor).
  protocol::server_version version;
  /// "valkey" for Valkey (server_name or valkey_version present), "redis" otherwise.
  std::string flavour = "redis";
  /// valkey_version when present.
  std::string valkey_version;
  /// redis_mode: standalone, cluster, sentinel.
  std::string mode;
  /// role: master or slave.
  std::string role;
  /// run_id.
  std::string run_id;
  /// Seconds since the server started.
  std::uint64_t uptime_s = 0;
  /// Memory figures.
  memory_figures memory;
  /// connected_clients.
  std::uint64_t connected_clients = 0;
  /// maxclients.
  std::uint64_t maxclients = 0;
  /// connected_slaves.
  std::uint64_t connected_replicas = 0;
  /// used_cpu_sys + used_cpu_user, seconds since start.
  double cpu_seconds = 0;
  /// total_commands_processed.
  std::uint64_t total_commands = 0;
  /// instantaneous_ops_per_sec.
  std::uint64_t instantaneous_ops = 0;
  /// total_net_input_bytes.
  std::uint64_t net_input_bytes = 0;
  /// total_net_output_bytes.
  std::uint64_t net_output_bytes = 0;
  /// expired_keys.
  std::uint64_t expired_keys = 0;
  /// evicted_keys.
  std::uint64_t evicted_keys = 0;
  /// cluster_enabled:1.
  bool cluster_enabled = false;
  /// Keyspace lines.
  std::vector<protocol::keyspace_entry> keyspace;
  /// Commandstats lines.
  std::vector<protocol::command_stat> commands;
  /// Loaded modules.
  std::vector<protocol::module_entry> modules;

  /// Keys in every database.
  std::uint64_t total_keys() const noexcept;
  /// Keys in database `db` (0 when it has none).
  std::uint64_t keys_in(int db) const noexcept;
};

/// Parses an `INFO all` reply.
node_info parse_node_info(std::string_view info);

/// What a command does to the data, as its Redis command flags say.
enum class command_kind : std::uint8_t {
  write,  ///< changes keys (flag "write")
  read,   ///< reads keys without changing them (flag "readonly")
  other,  ///< connection, server, pub/sub, scripting and admin commands
};

/// The kind of a command as INFO commandstats names it ("set", "client|setname", "xgroup|create").
/// Unknown names (modules, newer servers) count as other; a module's write commands are
/// therefore missed by the read/write mix, which says so.
command_kind kind_of(std::string_view command) noexcept;

/// True for commands that name several keys that a cluster needs in one slot (MSET, SUNIONSTORE,
/// RENAME, LMOVE, ...), other than the six the Enterprise clustering policy allows across slots
/// (DEL, MSET, MGET, EXISTS, UNLINK, TOUCH) when `enterprise_allowed_too` is false.
bool multi_key(std::string_view command, bool enterprise_allowed_too) noexcept;

/// Calls by kind.
struct command_mix {
  /// Calls of write commands.
  std::uint64_t writes = 0;
  /// Calls of read commands.
  std::uint64_t reads = 0;
  /// Everything else.
  std::uint64_t other = 0;
};

/// Sums `stats` by kind.
command_mix mix_of(const std::vector<protocol::command_stat>& stats) noexcept;

/// `after` less `before`, command by command (commands only in `after` count whole; counters that
/// went down, after a CONFIG RESETSTAT or a restart, count as `after`).
std::vector<protocol::command_stat> command_delta(const std::vector<protocol::command_stat>& before,
                                                  const std::vector<protocol::command_stat>& after);

}  // namespace ferry::engine
