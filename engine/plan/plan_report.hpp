#pragma once
// Everything `ferry plan` found out, as plain data: what the rules judge (findings.hpp), what the
// terminal report and the JSON file show. Filled by plan_job; built by hand in unit tests.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/plan/node_info.hpp"
#include "engine/plan/sample_stats.hpp"
#include "engine/plan/sizing.hpp"
#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// A CONFIG GET value, or why it is not known (CONFIG refused, as on managed services).
struct config_value {
  /// True when the server answered.
  bool known = false;
  /// The value (CONFIG GET's second element).
  std::string value;
  /// The refusal, when not known.
  std::string refusal;
};

/// What ferry's own ACL rules look like on one node (ACL DRYRUN of every command it needs).
struct permission_check {
  /// True when every command could be tried.
  bool checked = false;
  /// The user ferry is logged in as (ACL WHOAMI).
  std::string user;
  /// Commands the user may not run ("restore", "client|setname").
  std::vector<std::string> missing;
  /// Why the check could not run (ACL DRYRUN refused or unknown: Redis < 7, a managed service).
  std::string note;
};

/// The application's traffic on one node during ferry's look (its own commands taken out).
struct traffic_window {
  /// Seconds between the two INFO snapshots.
  double seconds = 0;
  /// Commands the application sent.
  std::uint64_t commands = 0;
  /// Of which writes (by commandstats).
  std::uint64_t writes = 0;
  /// Of which reads.
  std::uint64_t reads = 0;
  /// CPU seconds the server spent (ferry's share included).
  double cpu_seconds = 0;
  /// Bytes received.
  std::uint64_t net_input_bytes = 0;
  /// Bytes sent.
  std::uint64_t net_output_bytes = 0;

  /// Commands per second.
  double ops_per_sec() const noexcept { return seconds > 0 ? commands / seconds : 0; }
  /// Writes per second.
  double writes_per_sec() const noexcept { return seconds > 0 ? writes / seconds : 0; }
};

/// The short DUMP probe on one source master.
struct dump_probe {
  /// Keys dumped (with their expiry, as a copy reads them).
  std::uint64_t keys = 0;
  /// Payload bytes read.
  std::uint64_t bytes = 0;
  /// Time the server took for them: pipelines' round trips less one PING round trip each.
  double seconds = 0;
  /// The PING round trip, ms.
  double rtt_ms = 0;
  /// RDB version in the payloads' trailer; 0 when no payload was read.
  unsigned rdb_version = 0;
  /// Why nothing was measured (DUMP refused), when that is the case.
  std::string note;

  /// Keys per second the master serves to one pipelined reader; 0 when nothing was measured.
  double keys_per_sec() const noexcept { return seconds > 0 ? keys / seconds : 0; }
  /// Payload bytes per second.
  double bytes_per_sec() const noexcept { return seconds > 0 ? bytes / seconds : 0; }
};

/// One node looked at (a master of either side).
struct node_report {
  /// "host:port".
  std::string address;
  /// INFO all at the start of the look.
  node_info info;
  /// The application's traffic while ferry looked.
  traffic_window window;
  /// DBSIZE of the job's database.
  std::uint64_t dbsize = 0;
  /// CONFIG GET values by parameter name.
  std::map<std::string, config_value> config;
  /// FUNCTION LIST library names; nothing when not asked (Redis < 7) or refused.
  std::optional<std::vector<std::string>> function_libraries;
  /// Why function_libraries is empty when it is.
  std::string functions_note;
  /// ACL users (ACL LIST), nothing when refused.
  std::optional<std::vector<std::string>> acl_users;
  /// ferry's permissions.
  permission_check permissions;
  /// COMMAND INFO RESTORE found the command (targets only); nothing when not asked.
  std::optional<bool> restore_available;
  /// The DUMP probe (source masters only).
  dump_probe probe;
  /// Keys sampled on this node.
  std::uint64_t sampled = 0;

  /// The value of a CONFIG parameter when known.
  const config_value* config_of(const std::string& name) const;
};

/// One side.
struct side_report {
  /// The URL with any password as ***.
  std::string url;
  /// The database of the job.
  int db = 0;
  /// An OSS cluster (CLUSTER SHARDS/SLOTS answered).
  bool cluster = false;
  /// A proxy hiding a cluster: Azure Managed Redis (or Redis Enterprise) with the Enterprise
  /// clustering policy (cluster_enabled but CLUSTER refused, or an Azure host name).
  bool enterprise_proxy = false;
  /// An Azure Managed Redis host name (*.redis.azure.net).
  bool azure_managed_redis = false;
  /// TLS in use.
  bool tls = false;
  /// TLS verification switched off (--insecure).
  bool insecure = false;
  /// Replicas known (cluster replicas, or connected_slaves of a standalone master).
  std::uint64_t replicas = 0;
  /// The masters, in slot order.
  std::vector<node_report> masters;

  /// Keys of the job's database over every master (DBSIZE).
  std::uint64_t keys() const noexcept;
  /// Data bytes over every master (movable_bytes).
  std::uint64_t data_bytes() const noexcept;
};

/// What ferry can do today about the cases the rules look at. The rules describe what ferry will
/// do, so they take this rather than guess; one place to change when a fallback lands.
struct ferry_capabilities {
  /// Keys the target cannot RESTORE are rebuilt with type commands (struct mode).
  bool struct_mode = false;
  /// Function libraries are copied (FUNCTION DUMP / RESTORE).
  bool copies_functions = false;
};

/// What this build of ferry can do.
ferry_capabilities current_capabilities() noexcept;

/// How serious a finding is.
enum class severity : std::uint8_t {
  blocker,  ///< the migration cannot work as things are
  warning,  ///< it works, with a cost or a risk to deal with
  note,     ///< worth knowing
};

/// One finding with what to do about it.
struct finding {
  /// How serious.
  severity level = severity::note;
  /// Stable identifier for scripts ("target_too_small").
  std::string code;
  /// What is the matter, with the figures.
  std::string message;
  /// What to do.
  std::string advice;
};

/// The verdict.
enum class plan_verdict : std::uint8_t {
  ready,          ///< nothing to fix
  with_warnings,  ///< ready with warnings
  blocked,        ///< a blocker stands
};

/// Everything.
struct plan_report {
  /// The source.
  side_report source;
  /// The target, when one was given.
  std::optional<side_report> target;
  /// The sample over every source master.
  sample_stats sample;
  /// True when --scan-all walked the whole keyspace.
  bool scanned_all = false;
  /// Keys asked for (--sample).
  std::uint64_t sample_asked = 0;
  /// The size estimate.
  size_estimate size;
  /// The size the sample extrapolates to (mean size x keys); 0 without a sample.
  std::uint64_t sampled_data_bytes = 0;
  /// Memory on the source that a copy does not take along (streams' preallocated last nodes,
  /// extrapolated from the sample); already taken out of size.data_bytes.
  std::uint64_t stream_slack_bytes = 0;
  /// SKU picks.
  sku_recommendation skus;
  /// The workload the picks were made for.
  workload load;
  /// Copy time and sync.
  time_estimate time;
  /// What ferry can do.
  ferry_capabilities capabilities;
  /// Findings, blockers first.
  std::vector<finding> findings;
  /// The verdict.
  plan_verdict verdict = plan_verdict::ready;
  /// Set when the plan could not run (a side unreachable, refused login, TLS).
  std::optional<protocol::failure> failure;
  /// Seconds the plan took.
  double seconds = 0;
};

/// "ready", "ready with warnings", "blocked".
const char* verdict_text(plan_verdict verdict) noexcept;
/// "blocker", "warning", "note".
const char* severity_text(severity level) noexcept;

}  // namespace ferry::engine
