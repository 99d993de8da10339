#include "protocol/wire/keyspace_events.hpp"

#include <fmt/format.h>

namespace ferry::protocol {

namespace {

/// `text` without `prefix` "@<db>__:", when it starts so; nothing otherwise.
std::optional<std::string_view> after_db(std::string_view text, std::string_view prefix, int db) {
  if (!text.starts_with(prefix)) return std::nullopt;
  text.remove_prefix(prefix.size());
  const std::string tail = fmt::format("{}__:", db);
  if (!text.starts_with(tail)) return std::nullopt;
  text.remove_prefix(tail.size());
  return text;
}

}  // namespace

std::string missing_notification_flags(std::string_view value) {
  std::string missing;
  if (value.find('K') == std::string_view::npos && value.find('E') == std::string_view::npos) {
    missing += 'K';
  }
  const bool all = value.find('A') != std::string_view::npos;
  for (const char c : change_classes) {
    if (!all && value.find(c) == std::string_view::npos) missing += c;
  }
  return missing;
}

std::string notification_setting(std::string_view value) {
  std::string setting(value);
  for (const char c : sync_notification_flags) {
    if (setting.find(c) == std::string::npos) setting += c;
  }
  return setting;
}

event_channel channel_for(std::string_view value) noexcept {
  if (value.find('K') == std::string_view::npos && value.find('E') != std::string_view::npos) {
    return event_channel::keyevent;
  }
  return event_channel::keyspace;
}

std::string event_pattern(event_channel channel, int db) {
  return fmt::format("__key{}@{}__:*", channel == event_channel::keyspace ? "space" : "event", db);
}

std::optional<keyspace_event> parse_keyspace_event(std::string_view channel,
                                                   std::string_view payload, int db) {
  if (auto key = after_db(channel, "__keyspace@", db)) return keyspace_event{*key, payload};
  if (auto event = after_db(channel, "__keyevent@", db)) {
    if (event->empty()) return std::nullopt;
    return keyspace_event{payload, *event};
  }
  return std::nullopt;
}

}  // namespace ferry::protocol
