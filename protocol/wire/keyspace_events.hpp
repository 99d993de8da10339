#pragma once
// Redis keyspace notifications as ferry sync reads them: which `notify-keyspace-events` classes
// it needs, the pattern it subscribes to, and what one message says (which key, what happened).
// Pure.
//
// A server publishes, for every command that changes a key, a message on
// `__keyspace@<db>__:<key>` whose payload is the event ("set", "del", "expired", ...) when the
// K class is on, and one on `__keyevent@<db>__:<event>` whose payload is the key when E is on.
// Either names the key and the event; ferry subscribes to the keyspace channel when K is on and
// to the keyevent channel otherwise.

#include <optional>
#include <string>
#include <string_view>

namespace ferry::protocol {

/// The keyspace-event flags `ferry sync` needs: K (the keyspace channel) and A (every class that
/// changes keys: g$lshzxetd).
inline constexpr std::string_view sync_notification_flags = "KA";

/// The classes A stands for, which name every change of a key: g generic (DEL, EXPIRE, RENAME,
/// ...), $ string, l list, s set, h hash, z sorted set, x expired, e evicted, t stream, d module
/// types.
inline constexpr std::string_view change_classes = "g$lshzxetd";

/// The classes `value` (a notify-keyspace-events setting) lacks for sync, as flags ("K", "gx");
/// empty when nothing is missing. 'E' stands in for 'K' (ferry can read either channel).
std::string missing_notification_flags(std::string_view value);

/// The value to set so that sync has what it needs and nothing set before is lost.
std::string notification_setting(std::string_view value);

/// Which channel a subscriber reads.
enum class event_channel {
  keyspace,  ///< `__keyspace@<db>__:<key>`, payload the event (class K)
  keyevent,  ///< `__keyevent@<db>__:<event>`, payload the key (class E)
};

/// The channel to read for a server whose setting is `value`: keyspace when K is on, keyevent
/// when only E is.
event_channel channel_for(std::string_view value) noexcept;

/// The pattern that subscribes to every event of database `db` on `channel`
/// ("__keyspace@0__:*").
std::string event_pattern(event_channel channel, int db);

/// One keyspace notification.
struct keyspace_event {
  /// The key (binary; views the message).
  std::string_view key;
  /// What happened ("set", "del", "expired", "rename_from", "xadd", ...; views the message).
  std::string_view event;
};

/// The key and event of a message published on `channel` with `payload`, when the channel is a
/// keyspace or keyevent channel of database `db`; nothing otherwise.
std::optional<keyspace_event> parse_keyspace_event(std::string_view channel,
                                                   std::string_view payload, int db);

}  // namespace ferry::protocol
