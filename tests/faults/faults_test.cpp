// The fault-injection suite (label `faults`): seeded runs of `ferry copy` against real servers
// while the driver kills, restarts, pauses, stops and floods them, fills the disk under ferry's
// output files and signals ferry itself. Each run must end exact by the independent oracle, or
// with a non-zero exit code and a message that names the place and the next step (and then,
// continued as the message says, exact). See tests/faults/fault_run.hpp for the rule.
//
// FERRY_FAULT_RUNS   number of runs (default 14)
// FERRY_FAULT_SEED   first seed (default 1); run i uses seed FERRY_FAULT_SEED + i
// FERRY_FAULT_SEEDS  a comma-separated list of seeds instead (to reproduce a finding)
// FERRY_FAULT_SUMMARY a file to write the figures to (JSON), for soaks
// FERRY_FAULT_VERBOSE=1 prints every run's whole story, not only those that broke a promise

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/faults/fault_run.hpp"

namespace ferry::testing::faults {
namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  return std::stoull(text);
}

std::vector<std::uint64_t> seeds() {
  std::vector<std::uint64_t> all;
  if (const char* list = std::getenv("FERRY_FAULT_SEEDS"); list != nullptr && *list != '\0') {
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
      if (!item.empty()) all.push_back(std::stoull(item));
    }
    return all;
  }
  const std::uint64_t first = env_number("FERRY_FAULT_SEED", 1);
  const std::uint64_t runs = env_number("FERRY_FAULT_RUNS", 14);
  for (std::uint64_t i = 0; i < runs; ++i) all.push_back(first + i);
  return all;
}

TEST(faults, seeded_runs_end_exact_or_fail_honestly) {
  std::map<std::string, int> outcomes;
  std::array<int, fault_kind_count> injected{};
  std::vector<std::string> violations;
  int cluster_runs = 0;
  double seconds = 0;
  const auto all = seeds();
  for (const std::uint64_t seed : all) {
    const run_plan plan = plan_run(seed);
    run_report report;
    try {
      report = run_plan_once(plan);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "seed " << seed << ": the servers could not be set up: " << e.what();
      ++outcomes["setup_error"];
      continue;
    }
    seconds += report.seconds;
    cluster_runs += plan.cluster_target ? 1 : 0;
    ++outcomes[name_of(report.outcome)];
    std::string kinds;
    for (const auto kind : report.kinds) {
      ++injected[static_cast<std::size_t>(kind)];
      kinds += std::string(kinds.empty() ? "" : ", ") + name_of(kind);
    }
    std::string exits;
    for (const auto& e : report.exits) exits += std::string(exits.empty() ? "" : "; ") + e;
    std::printf("[faults] seed %llu: %-11s %5.1f s  %s target  faults: %s  (%s)\n",
                static_cast<unsigned long long>(seed), name_of(report.outcome), report.seconds,
                plan.cluster_target ? "cluster" : "standalone",
                kinds.empty() ? "none landed" : kinds.c_str(), exits.c_str());
    if (std::getenv("FERRY_FAULT_VERBOSE") != nullptr) std::printf("%s", report.log.c_str());
    std::fflush(stdout);
    if (report.outcome == run_outcome::violation) {
      for (const auto& f : report.findings)
        violations.push_back("seed " + std::to_string(seed) + ": " + f);
      ADD_FAILURE() << "seed " << seed
                    << " broke a promise (reproduce with FERRY_FAULT_SEEDS=" << seed << "):\n"
                    << report.log;
    }
  }

  std::printf("[faults] %zu runs (%d with a cluster target) in %.0f s; outcomes:", all.size(),
              cluster_runs, seconds);
  for (const auto& [name, count] : outcomes) std::printf(" %s %d", name.c_str(), count);
  std::printf("\n[faults] faults injected:");
  for (int k = 0; k < fault_kind_count; ++k) {
    std::printf(" %s %d", name_of(static_cast<fault_kind>(k)),
                injected[static_cast<std::size_t>(k)]);
  }
  std::printf("\n");
  for (const auto& v : violations) std::printf("[faults] FINDING %s\n", v.c_str());

  if (const char* file = std::getenv("FERRY_FAULT_SUMMARY"); file != nullptr && *file != '\0') {
    nlohmann::json summary;
    summary["runs"] = all.size();
    summary["first_seed"] = all.empty() ? 0 : all.front();
    summary["last_seed"] = all.empty() ? 0 : all.back();
    summary["cluster_runs"] = cluster_runs;
    summary["seconds"] = seconds;
    summary["outcomes"] = outcomes;
    for (int k = 0; k < fault_kind_count; ++k) {
      summary["faults"][name_of(static_cast<fault_kind>(k))] =
          injected[static_cast<std::size_t>(k)];
    }
    summary["findings"] = violations;
    std::ofstream(file) << summary.dump(2) << "\n";
  }
}

}  // namespace
}  // namespace ferry::testing::faults
