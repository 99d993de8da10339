#pragma once
// The sync report: a summary for people, a JSON file for tools, and the progress line's text.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/sync/sync_job.hpp"

namespace ferry::cli {

/// "converged", "cut_over", "cutover_failed", "keys_failed", "interrupted", "failed".
const char* status_name(engine::sync_status status);

/// The report as JSON: `status`, `snapshot` (the copy's report), `sync` {events, ignored,
/// dropped, recopied, erased, failed, dirty_keys, lag {count, p50_ms, p99_ms, max_ms},
/// converged, converged_at, gaps [{shard, cause, detail, at, slots, reconcile {started,
/// finished, compared, marked}}], shards [...]}, `cutover` when asked for, `notes`, `warnings`,
/// `error`.
nlohmann::json sync_report_json(const engine::sync_report& report);

/// A few lines for the terminal.
std::string sync_summary_text(const engine::sync_report& report);

/// What follows the snapshot's figures on the progress line: the phase, events, applied keys,
/// dirty keys, the lag over `window`, gaps, converged.
std::string progress_text(const engine::sync_progress& now, const engine::lag_snapshot& window);

}  // namespace ferry::cli
