#pragma once
// One seeded run of the fault suite: start the servers, run `ferry copy` while the plan's faults
// strike, and judge the end by the independent oracle. A ferry run that stops with a non-zero
// exit code (and a message naming the place and the next step) is continued the way the
// message says — the faults cleared, `--resume` — until it ends; a run whose source lost data
// ends with `ferry verify` (which must see the difference) and `ferry verify --repair`.
//
// The rule every run is held to: ferry never exits 0 while the target differs from the source;
// it does not hang, crash, or stop without saying where and what to do; and after a fault it
// can be brought to an exact copy.

#include <string>
#include <vector>

#include "tests/faults/fault_plan.hpp"

namespace ferry::testing::faults {

/// How a run ended.
enum class run_outcome {
  /// The first ferry run ended exit 0, exact.
  exact,
  /// A ferry run stopped honestly and a later one (`--resume`) ended exact.
  recovered,
  /// Exit 1 with every differing key listed in the failed-keys (or diff) file.
  keys_listed,
  /// The source lost data; `ferry verify` saw the difference and `--repair` made it exact.
  repaired,
  /// A broken promise: see `run_report::findings`.
  violation,
};

/// A short name: "exact", "recovered", ...
const char* name_of(run_outcome outcome);

/// What a run did and found.
struct run_report {
  /// The plan.
  run_plan plan;
  /// How it ended.
  run_outcome outcome = run_outcome::violation;
  /// What each injected fault did (faults planned after ferry's last run ended are absent).
  std::vector<std::string> injected;
  /// The kinds injected, in order.
  std::vector<fault_kind> kinds;
  /// Exit code of every `ferry copy` (and `ferry verify`) run, in order.
  std::vector<std::string> exits;
  /// Every broken promise, with its evidence.
  std::vector<std::string> findings;
  /// The whole story (plan, faults, each ferry run's end), for a failure message.
  std::string log;
  /// Wall-clock seconds of the run.
  double seconds = 0;
};

/// Runs `plan` to its end. Throws only when the servers cannot be started.
run_report run_plan_once(const run_plan& plan);

}  // namespace ferry::testing::faults
