#pragma once
// The threads of an import: the feed (import_feed.hpp) on a thread of its own, and on each
// writer thread a relay and the target's writers (engine/copy/write_stage.hpp):
//
//   feed thread:   file ──► feed ──┐ concurrent channel (a few batches)
//   writer thread: ┌───────────────┘
//                  └► relay (waits for the thread's byte budget) ──► writers ──► ledger
//
// The writers are the one sink of the target, exactly as in a copy: routing by slot, MOVED/ASK,
// retries, the existing-key policy, the failed-keys file; each settled batch goes to the file
// ledger. Meanwhile the calling thread runs `tick` (the state file).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/copy/counters.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/import/file_ledger.hpp"
#include "engine/import/import_config.hpp"
#include "engine/import/import_feed.hpp"
#include "engine/import/import_plan.hpp"
#include "engine/import/rdb_io.hpp"
#include "engine/runtime/job_control.hpp"

namespace ferry::engine {

/// What the stages share with the job.
struct stage_services {
  const import_config& config;
  const import_plan& plan;
  job_control& control;
  shard_counters& counters;
  failed_keys& failures;
  file_ledger& ledger;
  /// Filled by the feed; read once the stages have ended.
  feed_findings& found;
  /// The opened file.
  rdb_input& input;
  /// Keys whose record starts before this offset are settled already.
  std::uint64_t start_offset = 0;
  /// See feed_context::check_identity.
  std::function<maybe<void>(const file_identity&)> check_identity;
  /// The job's id: it names struct mode's temporary keys.
  std::string job_id;
};

/// What the stages used.
struct stage_result {
  /// Writer threads.
  unsigned threads = 0;
  /// Highest payload bytes held at once (the writer threads' budgets).
  std::size_t peak_inflight_bytes = 0;
};

/// The largest DUMP payload an import holds whole with these settings (a value over it is left
/// to struct mode): half of --max-inflight-bytes, within 1 MiB .. 512 MiB (Redis's default
/// proto-max-bulk-len).
std::size_t import_payload_limit(const tuning& tune) noexcept;

/// The largest DUMP payload the feed hands to the writers whole: the payload limit, or
/// --big-key-bytes when smaller (a larger value is streamed to struct mode).
std::size_t import_stream_limit(const import_config& config) noexcept;

/// Runs the feed and the writers until the file is read and every batch settled (or the job
/// stops); calls `tick` on the calling thread every second meanwhile.
stage_result run_stages(stage_services& services, const std::function<void()>& tick);

}  // namespace ferry::engine
