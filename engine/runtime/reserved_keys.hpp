#pragma once
// Key names ferry reserves for itself on the servers it works with. They are not the user's
// data: `ferry verify` and `ferry sync`'s reconcile skip them on both sides, and sync ignores
// their keyspace events.
//
// - `ferry:mark:{TAG}:JOB` on a target: a job's marks (engine/topology/target_guard.hpp), which
//   tell a target node that lost data; they stay while a job (or a sync) runs and go at its end.
// - `ferry:probe:{TAG}:JOB` on a source: written and deleted at once by `ferry sync` where CONFIG
//   is refused, to prove that keyspace events arrive.

#include <string_view>

namespace ferry::engine {

/// The prefix of ferry's marks on a target.
inline constexpr std::string_view mark_prefix = "ferry:mark:";
/// The prefix of `ferry sync`'s probe keys on a source.
inline constexpr std::string_view probe_prefix = "ferry:probe:";

/// True for a key under one of ferry's reserved prefixes.
constexpr bool is_reserved_key(std::string_view key) noexcept {
  return key.starts_with(mark_prefix) || key.starts_with(probe_prefix);
}

}  // namespace ferry::engine
