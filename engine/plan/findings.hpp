#pragma once
// The plan's rules: blockers, warnings and notes, each with what to do, judged from a filled
// plan_report. Pure, so each rule is a table test (tests/unit/plan_findings_test.cpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/plan/plan_report.hpp"

namespace ferry::engine {

/// Every finding for `report`, blockers first, then warnings, then notes.
std::vector<finding> evaluate(const plan_report& report);

/// The verdict of `findings`: blocked when any is a blocker, with warnings when any is a warning.
plan_verdict verdict_of(const std::vector<finding>& findings) noexcept;

/// Which clustering policy suits the application, in one sentence: OSS when the source is a
/// cluster (its clients speak the cluster protocol), Enterprise when it is one endpoint, with
/// what multi-key commands the source's application runs mean for either.
std::string clustering_advice(const plan_report& report);

/// The keyspace-event flags `ferry sync` subscribes with: K (keyspace channel) and A (every class
/// that changes keys: g$lshzxetd).
inline constexpr std::string_view sync_notification_flags = "KA";

/// The classes `value` (notify-keyspace-events) lacks for sync, as flags ("K", "gx"); empty when
/// nothing is missing. 'E' stands in for 'K' (ferry can read either channel).
std::string missing_notification_flags(std::string_view value);

/// The value to set so that sync has what it needs and nothing set before is lost.
std::string notification_setting(std::string_view value);

/// client-output-buffer-limit's pubsub class.
struct buffer_limit {
  /// Hard limit in bytes; 0 = none.
  std::uint64_t hard = 0;
  /// Soft limit in bytes; 0 = none.
  std::uint64_t soft = 0;
  /// Seconds over the soft limit before the client is dropped.
  std::uint64_t soft_seconds = 0;
};

/// The pubsub class of a client-output-buffer-limit value ("normal 0 0 0 slave ... pubsub 33554432
/// 8388608 60"); sizes with units ("32mb") are read too. Nothing when absent or malformed.
std::optional<buffer_limit> pubsub_limit(std::string_view value);

/// The RDB version a server writes, from its version (Redis 7.0: 10, 7.2: 11, 7.4 and 8.0: 12;
/// Valkey 7.2 and 8: 11); nothing for versions ferry does not know.
std::optional<unsigned> rdb_version_of(const node_info& info) noexcept;

}  // namespace ferry::engine
