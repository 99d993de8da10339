#pragma once
// `ferry plan`'s report: the terminal text (sections, aligned tables, a verdict line) and the
// --json document with every figure.

#include <nlohmann/json.hpp>
#include <string>

#include "engine/plan/plan_report.hpp"

namespace ferry::cli {

/// The terminal report.
std::string plan_text(const engine::plan_report& report);

/// The JSON document (schema "ferry.plan/1"; every figure of the report, bytes as integers).
nlohmann::json plan_json(const engine::plan_report& report);

}  // namespace ferry::cli
