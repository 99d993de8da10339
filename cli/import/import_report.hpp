#pragma once
// The import report: a summary for people and a JSON file for tools.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/import/import_config.hpp"

namespace ferry::cli {

/// The report as JSON: status, input, target, `file` {size, bytes_read, gzip, rdb_version,
/// checksum_checked, databases, db}, `totals` and `this_run` {scanned, imported, expired,
/// skipped, failed, bytes, retries, rescanned, estimated, duration_s}, the resume position,
/// the target's RDB version, downgraded and needs_struct counts, functions, modules,
/// left_behind, warnings and the error.
nlohmann::json import_report_json(const engine::import_report& report);

/// A few lines for the terminal.
std::string import_summary_text(const engine::import_report& report);

}  // namespace ferry::cli
