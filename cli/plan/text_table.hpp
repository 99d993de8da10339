#pragma once
// Aligned plain-text tables for terminal reports: a header row, data rows, columns padded to
// their widest cell, numbers aligned right.

#include <string>
#include <vector>

namespace ferry::cli {

/// See the file comment.
class text_table {
 public:
  /// A table with these column titles; a title starting with '>' is aligned right (the '>' is
  /// not shown).
  explicit text_table(std::vector<std::string> titles);

  /// Adds a row (missing cells are empty, extra ones dropped).
  void row(std::vector<std::string> cells);
  /// True when no row was added.
  bool empty() const noexcept { return rows_.empty(); }

  /// The table, each line starting with `indent` spaces and ending in '\n'.
  std::string render(std::size_t indent = 2) const;

 private:
  std::vector<std::string> titles_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

/// 1234567 as "1,234,567".
std::string grouped(unsigned long long n);

}  // namespace ferry::cli
