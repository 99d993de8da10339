#pragma once
// One pass of a copy: a set of shard pipelines run on worker threads until every one ends, while
// the calling thread does the job's periodic work (state file, watching both sides).
//
// A job runs one pass over the source's masters, then, when the source cluster moved slots during
// it, rescan passes over the moved slots on their new owners (copy_job.cpp).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/shard_meters.hpp"
#include "engine/copy/source_commands.hpp"
#include "engine/copy/write_stage.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/topology/slot_watch.hpp"
#include "engine/transfer/key_rebuild.hpp"
#include "engine/verify/diff_file.hpp"
#include "engine/verify/key_compare.hpp"
#include "engine/verify/verifier.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// One shard of a pass.
struct shard_run {
  /// Position among the job's shards (spreads retry jitter).
  std::size_t index = 0;
  /// How to reach the node it scans and reads.
  protocol::connection_options source;
  /// The SCAN cursor to start from.
  std::uint64_t start_cursor = 0;
  /// What an earlier run had settled up to `start_cursor`.
  counts start_done;
  /// The slots it copies; null for every slot.
  std::shared_ptr<const slot_set> slots;
  /// A rescan of moved slots (see writer.cpp).
  bool rescan = false;
  /// Its counters and published position, owned by the job (they outlive the pass).
  shard_counters* counters = nullptr;
  published_position* position = nullptr;
  /// What its inline verifier finds (copy --verify), owned by the job.
  verify_counters* verified = nullptr;
  /// An earlier run finished this shard's scan: nothing is scanned (only a copy extension's flow
  /// runs, copy_extension.hpp).
  bool scanned = false;
  /// Its latencies and link counts for the metrics endpoint, owned by the job; null for none.
  shard_meters* meters = nullptr;
};

/// What the inline verifiers of a pass share (copy --verify; unused otherwise).
struct verify_services {
  /// Source seed settings and slot map, for the verifiers' own source connections.
  const protocol::connection_options& source;
  const protocol::topology& source_map;
  /// How keys are compared.
  compare_options compare;
  /// Where differences go, and messages to show once (shared by every thread).
  diff_file& diffs;
  warning_list& warnings;
};

/// What every shard of a pass shares.
struct pass_services {
  const copy_config& config;
  /// Target seed settings and slot map.
  const protocol::connection_options& target;
  const protocol::topology& target_map;
  job_control& control;
  failed_keys& failures;
  rate_limiter& limiter;
  /// Messages to show once (shared by every thread).
  warning_list& warnings;
  /// The job resumes a state file.
  bool resumed = false;
  /// The source has PEXPIRETIME (Redis >= 7).
  bool use_pexpiretime = true;
  /// Strings may be read with GET and written with SET ... PXAT (the target has it, and the
  /// job did not ask for DUMP only).
  bool string_reads = false;
  /// The commands sent to the source, by kind.
  source_commands& commands;
  /// The inline verifier's needs, when config.verify.enabled.
  verify_services verify;
  /// Payload bytes held now, summed over every worker thread's budget (the job's, for the
  /// metrics endpoint); null for none.
  std::atomic<std::size_t>* inflight = nullptr;
  /// How keys are written (RESTORE, struct mode); null: RESTORE only.
  write_mode* mode = nullptr;
  /// What the two servers can do, for struct mode.
  rebuild_caps caps;
  /// The job's id (struct mode's temporary keys carry it).
  std::string job_id;
};

/// What a pass used.
struct pass_result {
  /// Worker threads.
  unsigned threads = 0;
  /// Highest payload bytes held at once, summed over threads (the pipeline's and struct mode's
  /// shares of each thread's budget).
  std::size_t peak_inflight_bytes = 0;
};

/// Runs `runs` to their end (or the job's stop) on worker threads; meanwhile calls `tick` on the
/// calling thread every `tick_every`.
pass_result run_pass(const pass_services& services, const std::vector<shard_run>& runs,
                     std::chrono::milliseconds tick_every, const std::function<void()>& tick);

}  // namespace ferry::engine
