#include "engine/copy/read_outcome.hpp"

namespace ferry::engine {

using protocol::errc;

read_outcome judge_read(const protocol::reply& dump, const protocol::reply& expiry, bool absolute,
                        std::int64_t read_at_ms) {
  read_outcome out;
  if (dump.is_error() || expiry.is_error()) {
    const protocol::reply& bad = dump.is_error() ? dump : expiry;
    out.on_expiry = !dump.is_error();
    out.reply_text = bad.text();
    out.error = protocol::classify_error_reply(bad.text());
    if (out.error == errc::moved || out.error == errc::ask) {
      out.action = read_action::redirect;
      out.to = protocol::parse_redirect(bad.text());
      return out;
    }
    switch (protocol::disposition_of(out.error)) {
      case protocol::disposition::retry:
        out.action = read_action::retry;
        return out;
      case protocol::disposition::fail_key:
        out.action = read_action::fail_key;
        return out;
      case protocol::disposition::fatal:
        out.action = read_action::fatal;
        return out;
    }
  }
  std::int64_t expire_at = 0;
  if (expiry.integer >= 0) expire_at = absolute ? expiry.integer : read_at_ms + expiry.integer;
  if (dump.is_nil() || expiry.integer == -2 || (expire_at != 0 && expire_at <= read_at_ms)) {
    out.action = read_action::vanished;
    return out;
  }
  out.action = read_action::value;
  out.expire_at_ms = expire_at;
  return out;
}

read_outcome judge_get(const protocol::reply& get, const protocol::reply& expiry, bool absolute,
                       std::int64_t read_at_ms) {
  if (get.is_error() && protocol::classify_error_reply(get.text()) == errc::wrong_type) {
    read_outcome out;
    out.action = read_action::dump;
    return out;
  }
  read_outcome out = judge_read(get, expiry, absolute, read_at_ms);
  if (out.action == read_action::value && out.expire_at_ms != 0 &&
      out.expire_at_ms - read_at_ms < near_expiry_ms) {
    out.action = read_action::dump;
  }
  return out;
}

}  // namespace ferry::engine
