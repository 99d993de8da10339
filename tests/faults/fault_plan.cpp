#include "tests/faults/fault_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

namespace ferry::testing::faults {
namespace {

/// splitmix64: tiny, and the same sequence everywhere.
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [low, high].
  std::uint64_t between(std::uint64_t low, std::uint64_t high) {
    return low + next() % (high - low + 1);
  }
  /// Uniform in [low, high).
  double real(double low, double high) {
    return low + (high - low) * static_cast<double>(next() >> 11) / 9007199254740992.0;
  }
  bool chance(double p) { return real(0, 1) < p; }

 private:
  std::uint64_t state_;
};

struct weighted {
  fault_kind kind;
  unsigned weight;
};

// Data-losing faults weigh most: they are what the suite is for.
constexpr std::array<weighted, fault_kind_count> weights{{
    {fault_kind::target_restart_empty, 10},
    {fault_kind::target_restart_aof, 6},
    {fault_kind::target_restart_rdb, 6},
    {fault_kind::source_restart_empty, 4},
    {fault_kind::source_restart_persisted, 6},
    {fault_kind::client_kill, 9},
    {fault_kind::client_pause, 7},
    {fault_kind::debug_sleep, 6},
    {fault_kind::server_stop, 7},
    {fault_kind::target_flushall, 6},
    {fault_kind::disk_full, 8},
    {fault_kind::ferry_kill, 8},
    {fault_kind::ferry_interrupt, 6},
}};

fault_kind pick_kind(generator& g) {
  unsigned total = 0;
  for (const auto& w : weights) total += w.weight;
  auto roll = static_cast<unsigned>(g.between(0, total - 1));
  for (const auto& w : weights) {
    if (roll < w.weight) return w.kind;
    roll -= w.weight;
  }
  return weights.back().kind;
}

fault_step pick_step(generator& g, bool cluster_target) {
  fault_step step;
  step.kind = pick_kind(g);
  step.at = g.real(0.03, 0.9);
  step.side = g.chance(0.5) ? fault_side::source : fault_side::target;
  step.node = cluster_target ? static_cast<int>(g.between(0, 2)) : 0;
  switch (step.kind) {
    case fault_kind::client_kill:
      step.variant = static_cast<int>(g.between(0, 2));
      break;
    case fault_kind::client_pause:
      step.variant = static_cast<int>(g.between(0, 1));
      step.duration = std::chrono::milliseconds{g.between(300, 2500)};
      break;
    case fault_kind::debug_sleep:
      step.duration = std::chrono::milliseconds{g.between(300, 2500)};
      break;
    case fault_kind::server_stop:
      step.duration = std::chrono::milliseconds{g.between(300, 3500)};
      break;
    case fault_kind::target_restart_rdb:
      step.duration = std::chrono::milliseconds{g.between(50, 800)};
      break;
    case fault_kind::ferry_interrupt:
      step.variant = g.chance(0.25) ? 1 : 0;
      break;
    case fault_kind::disk_full:
      step.file = static_cast<output_file>(g.between(0, 2));
      break;
    default:
      break;
  }
  return step;
}

}  // namespace

const char* name_of(fault_kind kind) {
  switch (kind) {
    case fault_kind::target_restart_empty:
      return "target_restart_empty";
    case fault_kind::target_restart_aof:
      return "target_restart_aof";
    case fault_kind::target_restart_rdb:
      return "target_restart_rdb";
    case fault_kind::source_restart_empty:
      return "source_restart_empty";
    case fault_kind::source_restart_persisted:
      return "source_restart_persisted";
    case fault_kind::client_kill:
      return "client_kill";
    case fault_kind::client_pause:
      return "client_pause";
    case fault_kind::debug_sleep:
      return "debug_sleep";
    case fault_kind::server_stop:
      return "server_stop";
    case fault_kind::target_flushall:
      return "target_flushall";
    case fault_kind::disk_full:
      return "disk_full";
    case fault_kind::ferry_kill:
      return "ferry_kill";
    case fault_kind::ferry_interrupt:
      return "ferry_interrupt";
  }
  return "?";
}

bool survivable(fault_kind kind) {
  switch (kind) {
    case fault_kind::client_kill:
    case fault_kind::client_pause:
    case fault_kind::debug_sleep:
    case fault_kind::server_stop:
      return true;
    default:
      return false;
  }
}

bool run_plan::has(fault_kind kind) const {
  return std::any_of(faults.begin(), faults.end(),
                     [kind](const fault_step& step) { return step.kind == kind; });
}

run_plan plan_run(std::uint64_t seed) {
  generator g(seed * 0x2545f4914f6cdd1dULL + 1);
  run_plan plan;
  plan.seed = seed;
  plan.cluster_target = g.chance(0.3);
  plan.strings = g.between(8'000, 25'000);
  plan.value_size = g.between(16, 512);
  plan.threads = static_cast<unsigned>(g.between(1, 3));
  plan.checkpoint_interval = static_cast<double>(g.between(2, 10)) / 10.0;
  const double roll = g.real(0, 1);
  plan.verify_sample = roll < 0.6 ? 0 : roll < 0.8 ? 0.3 : 1;
  plan.recopy = g.chance(0.3);
  // A copy of 2.5 to 5 seconds: long enough for faults to land inside it, short enough for many
  // runs.
  plan.keys_per_sec =
      static_cast<std::uint64_t>(static_cast<double>(plan.strings) / g.real(2.5, 5.0));

  const double count_roll = g.real(0, 1);
  const int count = count_roll < 0.6 ? 1 : count_roll < 0.9 ? 2 : 3;
  bool full_disk = false;
  for (int i = 0; i < count; ++i) {
    fault_step step = pick_step(g, plan.cluster_target);
    // One full disk per run: its ballast stays until the run clears every fault.
    if (step.kind == fault_kind::disk_full && std::exchange(full_disk, true)) {
      step.kind = fault_kind::client_kill;
    }
    plan.faults.push_back(step);
  }
  // A target node comes back from its AOF or from an RDB snapshot, not both: with AOF on, Redis
  // loads the AOF.
  if (plan.has(fault_kind::target_restart_aof)) {
    for (auto& step : plan.faults) {
      if (step.kind == fault_kind::target_restart_rdb) step.kind = fault_kind::target_restart_aof;
    }
  }
  std::sort(plan.faults.begin(), plan.faults.end(),
            [](const fault_step& a, const fault_step& b) { return a.at < b.at; });

  const bool fk = std::any_of(plan.faults.begin(), plan.faults.end(), [](const fault_step& s) {
    return s.kind == fault_kind::disk_full && s.file == output_file::failed_keys;
  });
  if (fk) {
    plan.existing = g.between(300, 1'500);
  } else if (g.chance(0.1)) {
    plan.existing = g.between(50, 300);
  }
  return plan;
}

std::string describe(const fault_step& step) {
  std::string where;
  switch (step.kind) {
    case fault_kind::client_kill:
    case fault_kind::client_pause:
    case fault_kind::debug_sleep:
    case fault_kind::server_stop:
      where = step.side == fault_side::source ? "source" : fmt::format("target node {}", step.node);
      break;
    case fault_kind::target_restart_empty:
    case fault_kind::target_restart_aof:
    case fault_kind::target_restart_rdb:
    case fault_kind::target_flushall:
      where = fmt::format("target node {}", step.node);
      break;
    case fault_kind::source_restart_empty:
    case fault_kind::source_restart_persisted:
      where = "source";
      break;
    case fault_kind::disk_full:
      where = step.file == output_file::state    ? "state file"
              : step.file == output_file::report ? "report"
                                                 : "failed-keys file";
      break;
    case fault_kind::ferry_kill:
    case fault_kind::ferry_interrupt:
      where = "ferry";
      break;
  }
  std::string extra;
  if (step.kind == fault_kind::client_kill) {
    extra = step.variant == 0 ? ", TYPE normal" : step.variant == 1 ? ", USER default" : ", ADDR";
  } else if (step.kind == fault_kind::client_pause) {
    extra = step.variant == 0 ? ", ALL" : ", WRITE";
  } else if (step.kind == fault_kind::ferry_interrupt && step.variant == 1) {
    extra = ", twice";
  }
  if (step.duration.count() != 0) extra += fmt::format(", {} ms", step.duration.count());
  return fmt::format("{}({}{}) at {:.0f}%", name_of(step.kind), where, extra, step.at * 100);
}

std::string describe(const run_plan& plan) {
  std::string faults;
  for (const auto& step : plan.faults) {
    if (!faults.empty()) faults += ", ";
    faults += describe(step);
  }
  std::string options = fmt::format("--threads {} --checkpoint-interval {} --max-keys-per-sec {}",
                                    plan.threads, plan.checkpoint_interval, plan.keys_per_sec);
  if (plan.verify_sample == 1) {
    options += " --verify";
  } else if (plan.verify_sample > 0) {
    options += fmt::format(" --verify-sample {}", plan.verify_sample);
  }
  if (plan.recopy) options += " --on-target-loss recopy";
  if (plan.existing != 0) options += " --on-existing fail";
  return fmt::format(
      "seed {}: {} target, {} strings of {} B + every type{}; {}; faults: {}", plan.seed,
      plan.cluster_target ? "cluster" : "standalone", plan.strings, plan.value_size,
      plan.existing != 0 ? fmt::format(", {} keys already on the target", plan.existing) : "",
      options, faults);
}

}  // namespace ferry::testing::faults
