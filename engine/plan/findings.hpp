#pragma once
// The plan's rules: blockers, warnings and notes, each with what to do, judged from a filled
// plan_report. Pure, so each rule is a table test (tests/unit/plan_findings_test.cpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/plan/plan_report.hpp"
#include "protocol/wire/keyspace_events.hpp"

namespace ferry::engine {

/// Every finding for `report`, blockers first, then warnings, then notes.
std::vector<finding> evaluate(const plan_report& report);

/// The verdict of `findings`: blocked when any is a blocker, with warnings when any is a warning.
plan_verdict verdict_of(const std::vector<finding>& findings) noexcept;

/// Which clustering policy suits the application, in one sentence: OSS when the source is a
/// cluster (its clients speak the cluster protocol), Enterprise when it is one endpoint, with
/// what multi-key commands the source's application runs mean for either.
std::string clustering_advice(const plan_report& report);

// The keyspace-event classes `ferry sync` needs ("KA") are decided where sync reads them
// (protocol/wire/keyspace_events.hpp); the plan warns by the same rule.
using protocol::missing_notification_flags;
using protocol::notification_setting;
using protocol::sync_notification_flags;

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
