#pragma once
// ferry's JSON outputs read back by the tests: a report (--report) and JSON-lines files
// (--failed-keys, --diff).

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ferry::testing {

/// The JSON document in `file`.
inline nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

/// Every non-empty line of `file`, each a JSON document; none when the file does not exist.
inline std::vector<nlohmann::json> read_json_lines(const std::filesystem::path& file) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

}  // namespace ferry::testing
