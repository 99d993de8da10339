#include "tests/support/sanitizer_report.hpp"

#include <algorithm>
#include <array>

namespace ferry::testing {

std::string sanitizer_report(std::string_view output) {
  // "runtime error:" is how UBSan starts each finding ("file.cpp:12:5: runtime error: ...").
  static constexpr std::array<std::string_view, 4> markers{
      "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
      "runtime error:", "ERROR: UndefinedBehaviorSanitizer"};
  std::size_t first = std::string_view::npos;
  for (const auto marker : markers) {
    first = std::min(first, output.find(marker));
  }
  if (first == std::string_view::npos) {
    return {};
  }
  // From the start of the line the marker is on.
  const auto line = output.rfind('\n', first);
  const auto begin = line == std::string_view::npos ? 0 : line + 1;
  constexpr std::size_t max_report = 4096;
  return std::string(output.substr(begin, max_report));
}

}  // namespace ferry::testing
