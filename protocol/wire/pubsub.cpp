#include "protocol/wire/pubsub.hpp"

namespace ferry::protocol {

namespace {

bool is_text(const reply& r) {
  return r.kind == reply_kind::string || r.kind == reply_kind::status;
}

/// ASCII case-insensitive equality (servers write the kinds in lower case; be lenient).
bool same_word(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::optional<push> parse_push(const reply& r) {
  if (r.kind != reply_kind::array || r.elements.empty() || !is_text(r.elements[0])) {
    return std::nullopt;
  }
  const auto& e = r.elements;
  const std::string_view kind = e[0].text();
  push p;
  if (same_word(kind, "pmessage")) {
    if (e.size() != 4 || !is_text(e[1]) || !is_text(e[2]) || !is_text(e[3])) return std::nullopt;
    p.kind = push_kind::pmessage;
    p.pattern = e[1].text();
    p.channel = e[2].text();
    p.payload = e[3].text();
    return p;
  }
  if (same_word(kind, "message")) {
    if (e.size() != 3 || !is_text(e[1]) || !is_text(e[2])) return std::nullopt;
    p.kind = push_kind::message;
    p.channel = e[1].text();
    p.payload = e[2].text();
    return p;
  }
  if (same_word(kind, "pong")) {
    if (e.size() != 2 || !is_text(e[1])) return std::nullopt;
    p.kind = push_kind::pong;
    p.payload = e[1].text();
    return p;
  }
  struct confirmation {
    std::string_view word;
    push_kind kind;
    bool pattern;
  };
  static constexpr confirmation confirmations[] = {
      {"subscribe", push_kind::subscribe, false},
      {"psubscribe", push_kind::psubscribe, true},
      {"unsubscribe", push_kind::unsubscribe, false},
      {"punsubscribe", push_kind::punsubscribe, true},
  };
  for (const auto& c : confirmations) {
    if (!same_word(kind, c.word)) continue;
    // UNSUBSCRIBE with nothing left to unsubscribe answers a nil channel.
    if (e.size() != 3 || !(is_text(e[1]) || e[1].is_nil()) || e[2].kind != reply_kind::integer) {
      return std::nullopt;
    }
    p.kind = c.kind;
    (c.pattern ? p.pattern : p.channel) = e[1].text();
    p.count = e[2].integer;
    return p;
  }
  return std::nullopt;
}

void subscription_tracker::add_pattern(std::string pattern) {
  patterns_.insert(std::move(pattern));
}

void subscription_tracker::add_channel(std::string channel) {
  channels_.insert(std::move(channel));
}

void subscription_tracker::compose(command_buffer& commands) {
  reset();
  if (!patterns_.empty()) {
    commands.begin(1 + patterns_.size());
    commands.arg("PSUBSCRIBE");
    for (const auto& p : patterns_) commands.arg(p);
  }
  if (!channels_.empty()) {
    commands.begin(1 + channels_.size());
    commands.arg("SUBSCRIBE");
    for (const auto& c : channels_) commands.arg(c);
  }
}

bool subscription_tracker::on_push(const push& p) {
  switch (p.kind) {
    case push_kind::psubscribe:
      if (patterns_.contains(std::string(p.pattern))) confirmed_patterns_.emplace(p.pattern);
      return true;
    case push_kind::subscribe:
      if (channels_.contains(std::string(p.channel))) confirmed_channels_.emplace(p.channel);
      return true;
    case push_kind::punsubscribe:
      confirmed_patterns_.erase(std::string(p.pattern));
      return true;
    case push_kind::unsubscribe:
      confirmed_channels_.erase(std::string(p.channel));
      return true;
    default:
      return false;
  }
}

void subscription_tracker::reset() noexcept {
  confirmed_patterns_.clear();
  confirmed_channels_.clear();
}

}  // namespace ferry::protocol
