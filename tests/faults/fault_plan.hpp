#pragma once
// What one seeded run of the fault suite does: the servers, ferry's options and the faults with
// the moments they strike. Pure: the same seed gives the same plan on any machine (the driver's
// own generator, not std::*_distribution, whose results the standard leaves to the library).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::testing::faults {

/// Every fault the driver can inject.
enum class fault_kind {
  /// kill -9 a target node (a master of a cluster target) and start it again without its data.
  target_restart_empty,
  /// kill -9 a target node running with `--appendonly yes --appendfsync always`; it comes back
  /// with every acknowledged write.
  target_restart_aof,
  /// SAVE on a target node, a moment of writes, kill -9: it comes back with the snapshot only.
  target_restart_rdb,
  /// kill -9 the source and start it again without its data.
  source_restart_empty,
  /// kill -9 the source and start it again from its RDB snapshot (the same keys, a new process).
  source_restart_persisted,
  /// CLIENT KILL of ferry's connections on the source or a target node (TYPE normal, USER, or
  /// ADDR of one connection named "ferry").
  client_kill,
  /// CLIENT PAUSE (ALL or WRITE) on the source or a target node.
  client_pause,
  /// DEBUG SLEEP on the source or a target node.
  debug_sleep,
  /// SIGSTOP of the source or a target node, SIGCONT after a while.
  server_stop,
  /// FLUSHALL on the target (one master of a cluster target).
  target_flushall,
  /// The file system of ferry's output files fills up.
  disk_full,
  /// SIGKILL of ferry itself; the run goes on with --resume.
  ferry_kill,
  /// SIGINT of ferry (sometimes twice); the run goes on with --resume.
  ferry_interrupt,
};

/// How many kinds there are (for tables indexed by kind).
inline constexpr int fault_kind_count = static_cast<int>(fault_kind::ferry_interrupt) + 1;

/// A short stable name: "target_restart_empty", ...
const char* name_of(fault_kind kind);

/// True for faults after which a copy must end exact by itself (exit code 0): short stalls and
/// dropped connections, well inside --max-retry-time.
bool survivable(fault_kind kind);

/// Which server a fault hits.
enum class fault_side { source, target };

/// The output file that a full disk hits first.
enum class output_file { state, report, failed_keys };

/// One fault and when it strikes.
struct fault_step {
  /// What happens.
  fault_kind kind = fault_kind::client_kill;
  /// When: the fraction of the source's keys that have reached the target (0 = at once).
  double at = 0.5;
  /// For client_kill, client_pause, debug_sleep, server_stop.
  fault_side side = fault_side::target;
  /// Which target master (index; 0 for a standalone target).
  int node = 0;
  /// How long a pause, sleep or stop lasts; for target_restart_rdb, the writes after the SAVE.
  std::chrono::milliseconds duration{0};
  /// client_kill: 0 TYPE normal, 1 USER default, 2 ADDR; client_pause: 0 ALL, 1 WRITE;
  /// ferry_interrupt: 0 one SIGINT, 1 two.
  int variant = 0;
  /// For disk_full.
  output_file file = output_file::state;
};

/// One run.
struct run_plan {
  /// The seed it came from.
  std::uint64_t seed = 0;
  /// A 3-master cluster target instead of one server.
  bool cluster_target = false;
  /// String keys besides the every-type dataset.
  std::size_t strings = 10'000;
  /// Their value size in bytes.
  std::size_t value_size = 64;
  /// Keys put on the target beforehand, with other values, copied with --on-existing fail (so
  /// the failed-keys file has lines to write).
  std::size_t existing = 0;
  /// --max-keys-per-sec: the copy takes a few seconds, so faults land inside it.
  std::uint64_t keys_per_sec = 5'000;
  /// --threads.
  unsigned threads = 2;
  /// --checkpoint-interval in seconds.
  double checkpoint_interval = 0.5;
  /// 0: no inline verification; otherwise --verify-sample (1 = --verify).
  double verify_sample = 0;
  /// --on-target-loss recopy.
  bool recopy = false;
  /// The faults, by `at`.
  std::vector<fault_step> faults;

  /// True when a fault of `kind` is planned.
  bool has(fault_kind kind) const;
};

/// The plan for `seed`.
run_plan plan_run(std::uint64_t seed);

/// One line for logs: "seed 7: cluster target, 12,345 keys, threads 2, ... faults: ...".
std::string describe(const run_plan& plan);

/// One line for a step: "client_kill(target node 1, ADDR) at 40%".
std::string describe(const fault_step& step);

}  // namespace ferry::testing::faults
