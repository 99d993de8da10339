#include "cli/plan/text_table.hpp"

#include <algorithm>

#include "engine/runtime/number_text.hpp"

namespace ferry::cli {

text_table::text_table(std::vector<std::string> titles) {
  for (auto& title : titles) {
    const bool right = !title.empty() && title.front() == '>';
    if (right) title = title.substr(1);
    right_.push_back(right);
    titles_.push_back(std::move(title));
  }
}

void text_table::row(std::vector<std::string> cells) {
  cells.resize(titles_.size());
  rows_.push_back(std::move(cells));
}

std::string text_table::render(std::size_t indent) const {
  std::vector<std::size_t> width(titles_.size());
  for (std::size_t c = 0; c < titles_.size(); ++c) {
    width[c] = titles_[c].size();
    for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string text(indent, ' ');
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::size_t pad = width[c] - cells[c].size();
      const bool last = c + 1 == cells.size();
      if (right_[c]) text.append(pad, ' ');
      text += cells[c];
      if (!right_[c] && !last) text.append(pad, ' ');
      if (!last) text += "  ";
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + '\n';
  };
  line(titles_);
  for (const auto& r : rows_) line(r);
  return out;
}

std::string grouped(unsigned long long n) { return engine::with_commas(n); }

}  // namespace ferry::cli
