#pragma once
// The copy report: a summary for people and a JSON file for tools.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/copy/copy_job.hpp"

namespace ferry::cli {

/// The report as JSON: status, source, target (redacted), `totals` {scanned, copied, vanished,
/// skipped, failed, bytes, duration_s, ...} and the same per shard under `shards`. With --verify,
/// a `verify` object {sample, checked, equal, missing, value, type, expiry, changed, vanished,
/// differences, deep, rechecked} counts what the inline verifier found in this run, at the top
/// and per shard; status is then `differences` when it found any (and nothing else failed).
nlohmann::json report_json(const engine::copy_report& report);

/// The report's word for a job's status ("complete", "keys_failed", ..., "failed").
const char* status_name(engine::job_status status);

/// A few lines for the terminal.
std::string summary_text(const engine::copy_report& report);

}  // namespace ferry::cli
