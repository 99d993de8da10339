#pragma once
// Counts as people read them in messages and reports: "1,234,567".

#include <cstdint>
#include <string>

namespace ferry::engine {

/// "1,234,567".
inline std::string with_commas(std::uint64_t n) {
  // Built forwards rather than with insert(), which GCC 12 at -O2 wrongly warns about
  // (-Wrestrict).
  const std::string digits = std::to_string(n);
  std::string text;
  text.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) text.push_back(',');
    text.push_back(digits[i]);
  }
  return text;
}

}  // namespace ferry::engine
