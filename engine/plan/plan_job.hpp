#pragma once
// `ferry plan`: inspect the source (and the target), sample the source's keys, probe its DUMP
// rate, watch its traffic for a few seconds, and judge what a migration needs. Read-only: every
// command sent is a read (INFO, CONFIG GET, DBSIZE, SCAN, TYPE, PTTL, MEMORY USAGE, DUMP,
// PEXPIRETIME, FUNCTION LIST, ACL LIST/WHOAMI/DRYRUN, COMMAND INFO, PING), on one connection per
// master, paced by a key rate limit.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "engine/plan/plan_report.hpp"
#include "engine/plan/sku_table.hpp"
#include "engine/runtime/settings.hpp"

namespace ferry::engine {

/// What `ferry plan` is asked.
struct plan_config {
  /// The source.
  side source;
  /// The target, when there is one yet.
  std::optional<side> target;
  /// Timeouts (connect_timeout, io_timeout) and scan_count.
  tuning tune;
  /// Keys to sample over all source masters (--sample).
  std::uint64_t sample_keys = 10'000;
  /// Look at every key (--scan-all).
  bool scan_all = false;
  /// Keys at least this large are listed as big (--big-key-bytes).
  std::uint64_t big_key_bytes = 8ull << 20;
  /// Keys looked at per second over all masters (--max-keys-per-sec).
  double max_keys_per_sec = 5'000;
  /// Keys the DUMP probe reads per master at most.
  std::uint64_t probe_keys = 1'000;
  /// Shortest time over which the application's traffic is measured (--observe).
  std::chrono::milliseconds observe{5'000};
  /// Growth headroom on top of the data (--headroom, 0.1 = 10 %).
  double headroom = 0.1;
  /// A copy's --max-keys-per-sec, for the time estimate; 0 = none.
  double copy_max_keys_per_sec = 0;
  /// ferry's margins over the documented SKU figures.
  sizing_rules rules;
  /// The SKU table; null for the built-in one.
  const sku_table* skus = nullptr;
  /// Called with a short line before each stage (for the terminal); may be empty.
  std::function<void(std::string_view)> progress;
};

/// Runs the plan; never throws for a server's refusal or a network failure (report.failure).
plan_report run_plan(const plan_config& config);

}  // namespace ferry::engine
