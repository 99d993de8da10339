#include "engine/plan/plan_report.hpp"

namespace ferry::engine {

const config_value* node_report::config_of(const std::string& name) const {
  const auto it = config.find(name);
  return it == config.end() ? nullptr : &it->second;
}

std::uint64_t side_report::keys() const noexcept {
  std::uint64_t total = 0;
  for (const auto& m : masters) total += m.dbsize;
  return total;
}

std::uint64_t side_report::data_bytes() const noexcept {
  std::uint64_t total = 0;
  for (const auto& m : masters) total += movable_bytes(m.info.memory);
  return total;
}

const char* verdict_text(plan_verdict verdict) noexcept {
  switch (verdict) {
    case plan_verdict::ready:
      return "ready";
    case plan_verdict::with_warnings:
      return "ready with warnings";
    case plan_verdict::blocked:
      return "blocked";
  }
  return "blocked";
}

const char* severity_text(severity level) noexcept {
  switch (level) {
    case severity::blocker:
      return "blocker";
    case severity::warning:
      return "warning";
    case severity::note:
      return "note";
  }
  return "note";
}

}  // namespace ferry::engine
