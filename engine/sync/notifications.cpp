#include "engine/sync/notifications.hpp"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>

#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

/// "host:port" into a node of `base`.
protocol::connection_options node_at(const protocol::connection_options& base,
                                     const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto port = static_cast<std::uint16_t>(std::stoul(address.substr(colon + 1)));
  protocol::connection_options options = protocol::at_node(base, std::move(host), port);
  options.readonly = false;
  return options;
}

asio::awaitable<maybe<notification_state>> check_one(protocol::connection_options options,
                                                     bool configure) {
  notification_state state;
  state.node = options.where.address();
  options.readonly = false;  // CONFIG SET on a replica needs no READONLY
  protocol::connection c(co_await asio::this_coro::executor, options);
  if (auto ec = co_await c.connect()) {
    co_return protocol::failure{
        ec, fmt::format("cannot use the source node {}: {}", state.node, c.last_error())};
  }
  protocol::command_buffer get;
  get.push({"CONFIG", "GET", "notify-keyspace-events"});
  std::vector<protocol::reply> replies;
  if (auto ec = co_await c.exec(get, replies)) co_return protocol::failure{ec, c.last_error()};
  const protocol::reply& answer = replies[0];
  if (answer.is_error() || answer.elements.size() != 2) co_return state;  // to the probe
  state.readable = true;
  state.value = std::string(answer.elements[1].text());
  const std::string missing = protocol::missing_notification_flags(state.value);
  if (missing.empty()) co_return state;
  const std::string setting = protocol::notification_setting(state.value);
  if (!configure) {
    co_return fail_with(
        errc::server_error,
        fmt::format("the source {} has notify-keyspace-events '{}', which lacks '{}' that ferry "
                    "sync needs (it re-copies every key an event names, so every class that "
                    "changes keys must be on); set it with CONFIG SET notify-keyspace-events {} "
                    "(on Azure Cache for Redis: the portal's Advanced settings, Keyspace "
                    "notifications, to KA), or add --configure-notifications to let ferry set it "
                    "for the job and put '{}' back at the end",
                    state.node, state.value, missing, setting, state.value));
  }
  protocol::command_buffer set;
  set.push({"CONFIG", "SET", "notify-keyspace-events", setting});
  if (auto ec = co_await c.exec(set, replies)) co_return protocol::failure{ec, c.last_error()};
  if (replies[0].is_error()) {
    co_return fail_with(
        protocol::classify_error_reply(replies[0].text()),
        fmt::format("--configure-notifications: the source {} refused CONFIG SET "
                    "notify-keyspace-events {}: {}; set it yourself (it is '{}', and lacks '{}')",
                    state.node, setting, replies[0].text(), state.value, missing));
  }
  state.configured = true;
  state.previous = std::move(state.value);
  state.value = setting;
  co_return state;
}

}  // namespace

maybe<std::vector<notification_state>> check_notifications(
    const std::vector<protocol::connection_options>& nodes, bool configure) {
  std::vector<notification_state> states;
  for (const auto& options : nodes) {
    auto state = run_blocking(check_one(options, configure));
    if (!state) {
      // What was set so far goes back: the job does not start.
      restore_notifications(states, options);
      return state.error();
    }
    states.push_back(std::move(*state));
  }
  return states;
}

protocol::event_channel channel_of(const std::vector<notification_state>& states) {
  bool any = false;
  for (const auto& s : states) {
    if (!s.readable) continue;
    any = true;
    if (protocol::channel_for(s.value) != protocol::event_channel::keyevent) {
      return protocol::event_channel::keyspace;
    }
  }
  return any ? protocol::event_channel::keyevent : protocol::event_channel::keyspace;
}

std::vector<std::string> restore_notifications(const std::vector<notification_state>& states,
                                               const protocol::connection_options& base) {
  std::vector<std::string> warnings;
  for (const auto& s : states) {
    if (!s.configured) continue;
    const auto restored = run_blocking([](protocol::connection_options options,
                                          std::string previous) -> asio::awaitable<std::string> {
      protocol::connection c(co_await asio::this_coro::executor, options);
      if (co_await c.connect()) co_return c.last_error();
      protocol::command_buffer set;
      set.push({"CONFIG", "SET", "notify-keyspace-events", previous});
      std::vector<protocol::reply> replies;
      if (co_await c.exec(set, replies)) co_return c.last_error();
      if (replies[0].is_error()) co_return std::string(replies[0].text());
      co_return std::string{};
    }(node_at(base, s.node), s.previous));
    if (!restored.empty()) {
      warnings.push_back(fmt::format(
          "ferry could not put notify-keyspace-events back to '{}' on {} ({}); set it by hand",
          s.previous, s.node, restored));
    }
  }
  return warnings;
}

}  // namespace ferry::engine
