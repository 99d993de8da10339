#pragma once
// Carries out one fault step against the servers of a run, or against ferry itself.
//
// Thread: the test's main thread (a restarted server belongs to the thread that starts it).

#include <string>

#include "tests/faults/fault_plan.hpp"
#include "tests/faults/fault_world.hpp"
#include "tests/support/ferry_process.hpp"

namespace ferry::testing::faults {

/// Injects `step` (blocking for its duration: a pause, a sleep, a stop) and returns what was
/// done, e.g. "CLIENT KILL TYPE normal on 127.0.0.1:7001: 5 connection(s)". A step that cannot
/// be carried out (its server is down because of an earlier fault) says so instead of
/// throwing.
std::string inject(const fault_step& step, fault_world& world, ferry_process& ferry);

}  // namespace ferry::testing::faults
