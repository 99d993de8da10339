#pragma once
// The export report: a summary for people and a JSON file for tools.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/import/export_config.hpp"

namespace ferry::cli {

/// The report as JSON: status, source, output, `file` {rdb_version, bytes, gzip, db,
/// functions}, `totals` {scanned, exported, vanished, failed, duplicates, bytes, retries,
/// estimated, duration_s} and per shard, downgraded, left_behind, warnings and the error.
nlohmann::json export_report_json(const engine::export_report& report);

/// A few lines for the terminal.
std::string export_summary_text(const engine::export_report& report);

}  // namespace ferry::cli
