#pragma once
// Internals of the plan's rules, shared by findings.cpp (source, sizes) and findings_target.cpp
// (the target's rules). Not part of the engine's interface.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/plan/plan_report.hpp"

namespace ferry::engine::detail {

/// The six types every Redis knows; anything else TYPE says is a module's.
bool core_type(std::string_view type);

/// A CONFIG size ("536870912", "16mb", "512kb"); nothing when unreadable.
std::optional<std::uint64_t> size_value(std::string_view text);

/// "1 key", "3 keys".
std::string count_of(std::uint64_t n, std::string_view noun);

/// "a, b, c".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

/// Collects findings for one report.
class rules {
 public:
  /// Rules over `report`, which must outlive them.
  explicit rules(const plan_report& report) : r_(report) {}

  /// Adds a finding.
  void add(severity level, std::string code, std::string message, std::string advice) {
    out_.push_back({level, std::move(code), std::move(message), std::move(advice)});
  }

  /// The findings, blockers first.
  std::vector<finding> take();

  /// The report judged.
  const plan_report& r_;

 private:
  std::vector<finding> out_;
};

/// The target's rules (findings_target.cpp).
void check_target(rules& x);

}  // namespace ferry::engine::detail
