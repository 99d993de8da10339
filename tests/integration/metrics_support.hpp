#pragma once
// A running `ferry ... --metrics 127.0.0.1:0` read from outside: the port it printed, scrapes of
// its endpoint, and values in the text format, for the metrics integration tests.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/ferry_process.hpp"
#include "tests/support/prometheus.hpp"

namespace ferry::testing {

/// The port `ferry` says its metrics endpoint listens on ("metrics at http://ADDR:PORT/metrics"
/// on stderr), waiting up to `timeout`; 0 when it said none (it may have ended first).
inline std::uint16_t metrics_port(ferry_process& ferry,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const std::regex said(R"(metrics at http://[^ ]*:(\d+)/metrics)");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    const std::string err = ferry.err_so_far();
    if (std::regex_search(err, m, said)) return static_cast<std::uint16_t>(std::stoi(m[1]));
    if (!ferry.running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

/// The sum of every sample of metric `name` (the series `name{...}` and `name`) in `body`, or
/// nothing when it has none.
inline std::optional<double> sum_of(const std::string& body, const std::string& name) {
  std::optional<double> sum;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(name) || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != '{' && next != ' ') continue;
    sum = sum.value_or(0) + std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

/// The value of the one series written exactly as `series` (`name{label="v",...}`), if any.
inline std::optional<double> value_of(const std::string& body, const std::string& series) {
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

/// `promtool check metrics` on `body`: "" when it is clean, else what promtool said (or why it
/// did not run). Skipped ("") when promtool is not installed.
inline std::string promtool_problems(const std::string& body, const std::filesystem::path& dir) {
  const auto promtool = find_tool("promtool");
  if (!promtool) {
    std::printf("promtool not installed (Debian's prometheus package): check skipped\n");
    return "";
  }
  const auto file = dir / "scrape.txt";
  std::ofstream(file) << body;
  const tool_result check = run_tool({promtool->string(), "check", "metrics"}, file);
  if (check.exit_code != 0 || !check.output.empty()) {
    return "exit " + std::to_string(check.exit_code) + ": " + check.output;
  }
  return "";
}

}  // namespace ferry::testing
