#pragma once
// The verify report: a summary for people (and auditors) and a JSON file for tools.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/verify/verifier.hpp"

namespace ferry::cli {

/// The report as JSON: status, source, target (redacted), mode, `totals` {checked, equal,
/// missing, value, type, expiry, changed, extra, vanished, deep, repaired, ...}, warnings.
nlohmann::json verify_report_json(const engine::verify_report& report, const std::string& mode);

/// A few lines for the terminal: the verdict first, then the counts.
std::string verify_summary_text(const engine::verify_report& report, const std::string& mode,
                                bool repair);

}  // namespace ferry::cli
