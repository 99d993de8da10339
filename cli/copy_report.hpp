#pragma once
// The copy report: a summary for people and a JSON file for tools.

#include <string>

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include "engine/copy_job.hpp"

namespace ferry::cli {

/// The report as JSON: status, source, target (redacted), `totals` {scanned, copied, vanished,
/// skipped, failed, bytes, duration_s, ...} and the same per shard under `shards`. With --verify,
/// a `verify` object {sample, checked, equal, missing, value, type, expiry, changed, vanished,
/// differences, deep, rechecked} counts what the inline verifier found in this run, at the top
/// and per shard; status is then `differences` when it found any (and nothing else failed).
nlohmann::json report_json(const engine::copy_report& report);

/// Writes `json` to `path` (via a temporary file and a rename, so it is whole or absent).
boost::system::result<void, std::string> write_json_file(const std::string& path,
                                                         const nlohmann::json& json);

/// A few lines for the terminal.
std::string summary_text(const engine::copy_report& report);

}  // namespace ferry::cli
