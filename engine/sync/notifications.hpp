#pragma once
// Keyspace notifications on the nodes a sync subscribes to: read `notify-keyspace-events` with
// CONFIG GET where allowed and refuse to start, with the exact setting, when it lacks classes
// ferry needs; set it with CONFIG SET (--configure-notifications) and put the old value back at
// the end. Where CONFIG is refused (Azure Cache for Redis), the node is left to the shard's
// probe (sync_watch.cpp), which proves empirically that events arrive.
//
// Thread: the job's calling thread (blocking, on a private io_context).

#include <string>
#include <vector>

#include "engine/runtime/result.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/keyspace_events.hpp"

namespace ferry::engine {

/// What one node's setting is, as far as ferry can tell.
struct notification_state {
  /// The node, "host:port".
  std::string node;
  /// True when CONFIG GET answered; false sends the node to the probe.
  bool readable = false;
  /// The setting (after ferry changed it, when it did).
  std::string value;
  /// True when ferry set it (--configure-notifications); `previous` is then put back at the end.
  bool configured = false;
  /// The setting before ferry changed it.
  std::string previous;
};

/// Checks (and, with `configure`, sets) the setting on every node of `nodes`. Fails with a
/// message naming the node, its setting and the one to set when a readable node lacks classes
/// and `configure` is off, or when CONFIG SET is refused.
maybe<std::vector<notification_state>> check_notifications(
    const std::vector<protocol::connection_options>& nodes, bool configure);

/// The channel to subscribe to on every node: keyevent only when each readable node has E and
/// not K; keyspace otherwise (the probe then checks it).
protocol::event_channel channel_of(const std::vector<notification_state>& states);

/// Puts back what check_notifications() changed (`base` reaches each node, its host and port
/// replaced). Best effort: returns a warning per node it could not restore.
std::vector<std::string> restore_notifications(const std::vector<notification_state>& states,
                                               const protocol::connection_options& base);

}  // namespace ferry::engine
