#pragma once
// Running `ferry plan` in the integration tests: the real binary with --json, the findings read
// back, and the servers' own counters (INFO commandstats, COMMAND INFO) as the oracle for "ferry
// plan never writes".

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {

/// One `ferry plan` run.
struct plan_run {
  /// How the process ended.
  ferry_result result;
  /// Its --json document (empty when it wrote none).
  nlohmann::json json;

  /// Codes of the findings at `level` ("blocker", "warning", "note"; empty for all).
  std::set<std::string> codes(const std::string& level = {}) const {
    std::set<std::string> out;
    if (!json.contains("findings")) return out;
    for (const auto& f : json["findings"]) {
      if (level.empty() || f["severity"] == level) out.insert(f["code"].get<std::string>());
    }
    return out;
  }
  /// The finding with `code`, or null.
  nlohmann::json finding(const std::string& code) const {
    if (json.contains("findings")) {
      for (const auto& f : json["findings"]) {
        if (f["code"] == code) return f;
      }
    }
    return nullptr;
  }
};

/// Runs `ferry plan <args>` with --json, --quiet and a short --observe unless `args` has one.
inline plan_run run_plan(std::vector<std::string> args, const temp_dir& dir,
                         std::chrono::seconds timeout = std::chrono::seconds{120}) {
  static int serial = 0;
  const auto json_path = dir / fmt::format("plan-{}.json", ++serial);
  std::vector<std::string> argv{"plan", "--json", json_path.string(), "--quiet"};
  if (std::find(args.begin(), args.end(), "--observe") == args.end()) {
    argv.insert(argv.end(), {"--observe", "0.2"});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  plan_run run;
  run.result = run_ferry(argv, timeout);
  if (std::filesystem::exists(json_path)) run.json = read_json(json_path);
  return run;
}

/// "a b c" of a set, for messages.
inline std::string listed(const std::set<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += item + " ";
  return text;
}

/// INFO commandstats of one server: calls per command ("get", "client|setname").
inline std::map<std::string, long long> command_calls(sync_client& client) {
  const reply info = client.checked({"INFO", "commandstats"});
  std::map<std::string, long long> calls;
  std::size_t at = 0;
  const std::string& text = info.str;
  while ((at = text.find("cmdstat_", at)) != std::string::npos) {
    const auto colon = text.find(':', at);
    const auto value = text.find("calls=", colon);
    const std::string name = text.substr(at + 8, colon - at - 8);
    calls[name] = std::stoll(text.substr(value + 6));
    at = colon;
  }
  return calls;
}

/// The flags COMMAND INFO gives `name` ("client|setname" asks for the subcommand).
inline std::set<std::string> command_flags(sync_client& client, const std::string& name) {
  const auto bar = name.find('|');
  std::vector<std::string> argv{"COMMAND", "INFO"};
  argv.push_back(bar == std::string::npos ? name : name.substr(0, bar));
  const reply info = client.checked(argv);
  std::set<std::string> flags;
  if (info.elements.empty() || info[0].is_nil()) return flags;
  const reply* command = &info[0];
  if (bar != std::string::npos && command->elements.size() > 9) {
    for (const auto& sub : (*command)[9].elements) {
      if (sub[0].str == name) command = &sub;
    }
  }
  for (const auto& flag : (*command)[2].elements) flags.insert(flag.str);
  return flags;
}

}  // namespace ferry::testing
