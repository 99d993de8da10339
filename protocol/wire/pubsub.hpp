#pragma once
// What arrives on a subscribed connection, and which subscriptions a connection must (re)make.
// Pure, so both are step-tested without a server (tests/unit/sync_pubsub_test.cpp).
//
// ferry speaks RESP2 on every connection (hiredis 0.14 reads no RESP3), and a RESP2 server sends
// pub/sub messages as arrays on a subscribed connection: ["pmessage", pattern, channel, payload],
// ["message", channel, payload], the confirmations ["psubscribe", pattern, count], ... and, for a
// PING, ["pong", payload]. (A RESP3 server would send the same arrays as pushes, `>`; the shapes
// are the same, so only the reader would change.)
//
// The tracker follows Boost.Redis's subscription tracker (detail/subscription_tracker.hpp): a set
// of wanted channels and patterns and one function that composes the commands subscribing to all
// of them after a (re)connect; confirmations tell when the subscription is complete.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "protocol/wire/command.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::protocol {

/// What one reply on a subscribed connection is.
enum class push_kind {
  message,       ///< a message published on a channel subscribed by name
  pmessage,      ///< a message published on a channel matching a subscribed pattern
  subscribe,     ///< SUBSCRIBE confirmed for one channel
  psubscribe,    ///< PSUBSCRIBE confirmed for one pattern
  unsubscribe,   ///< UNSUBSCRIBE confirmed for one channel
  punsubscribe,  ///< PUNSUBSCRIBE confirmed for one pattern
  pong,          ///< the answer to a PING sent on the subscribed connection
};

/// One reply of a subscribed connection, viewing the reply's bytes.
struct push {
  /// What it is.
  push_kind kind = push_kind::message;
  /// The pattern (pmessage, psubscribe, punsubscribe).
  std::string_view pattern;
  /// The channel (message, pmessage, subscribe, unsubscribe).
  std::string_view channel;
  /// The message (message, pmessage) or the PING's argument (pong).
  std::string_view payload;
  /// Subscriptions the connection holds after a (un)subscribe confirmation.
  std::int64_t count = 0;
};

/// The push `r` is; nothing when it is not one (an error reply, a malformed array).
std::optional<push> parse_push(const reply& r);

/// See the file comment.
class subscription_tracker {
 public:
  /// Wants `pattern` subscribed (PSUBSCRIBE).
  void add_pattern(std::string pattern);
  /// Wants `channel` subscribed (SUBSCRIBE).
  void add_channel(std::string channel);

  /// Appends the commands that subscribe to everything wanted (nothing when nothing is): one
  /// PSUBSCRIBE with every pattern, one SUBSCRIBE with every channel. Call after each connect;
  /// it forgets every confirmation, since a new connection holds none.
  void compose(command_buffer& commands);
  /// Takes note of a confirmation; true when `p` was one (of anything, wanted or not).
  bool on_push(const push& p);
  /// The connection broke: nothing it held is held any more.
  void reset() noexcept;

  /// True when every wanted channel and pattern is confirmed on the current connection.
  bool complete() const noexcept {
    return confirmed_patterns_ == patterns_ && confirmed_channels_ == channels_;
  }
  /// The wanted patterns.
  const std::set<std::string>& patterns() const noexcept { return patterns_; }
  /// The wanted channels.
  const std::set<std::string>& channels() const noexcept { return channels_; }

 private:
  std::set<std::string> patterns_;
  std::set<std::string> channels_;
  std::set<std::string> confirmed_patterns_;
  std::set<std::string> confirmed_channels_;
};

}  // namespace ferry::protocol
