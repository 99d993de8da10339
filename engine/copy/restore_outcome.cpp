#include "engine/copy/restore_outcome.hpp"

#include <string>

namespace ferry::engine {

using protocol::errc;

namespace {

/// BUSYKEY: the key exists on the target.
restore_action busy_key(const restore_situation& key) {
  if (key.rescan) return restore_action::settle_by_value;
  // An earlier attempt (a broken connection, or the run being resumed) may have written it.
  if (key.ambiguous || key.resumed) return restore_action::check_ours;
  return judge_ours(false, key);
}

restore_decision rebuild(restore_decision decision, rebuild_reason why) {
  decision.action = restore_action::rebuild;
  decision.why = why;
  return decision;
}

}  // namespace

bool refuses_restore(std::string_view text) noexcept {
  switch (protocol::classify_error_reply(text)) {
    case errc::unknown_command:
      return true;
    case errc::no_permission: {
      // "NOPERM User u has no permissions to run the 'restore' command" (7.x), "NOPERM this
      // user has no permissions to run the 'restore' command or its subcommand" (6.x); a key
      // pattern's refusal names no command.
      std::string lower(text);
      for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      return lower.find("'restore'") != std::string::npos;
    }
    default:
      return false;
  }
}

restore_decision judge_restore(const protocol::reply* answer, const restore_situation& key) {
  restore_decision decision;
  if (answer == nullptr) {
    decision.action = restore_action::retry;
    decision.error = errc::connection_closed;
    return decision;
  }
  if (!answer->is_error()) return decision;  // copied
  decision.error = protocol::classify_error_reply(answer->text());
  switch (decision.error) {
    case errc::moved:
    case errc::ask:
      decision.action = restore_action::redirect;
      decision.to = protocol::parse_redirect(answer->text());
      return decision;
    case errc::busykey:
      decision.action = busy_key(key);
      return decision;
    case errc::key_too_large:
      // "ERR Protocol error: invalid bulk length": over the target's proto-max-bulk-len, which
      // ferry learns only this way; the server closes the connection after this reply. Struct
      // mode writes it in pieces under the limit.
      if (key.can_rebuild) return rebuild(decision, rebuild_reason::over_bulk_limit);
      decision.action = restore_action::fail_too_large;
      return decision;
    case errc::bad_payload:
      // A payload version or type the target does not know: type commands it knows.
      if (key.can_rebuild) return rebuild(decision, rebuild_reason::bad_payload);
      break;
    case errc::unknown_command:
    case errc::no_permission:
      if (key.can_rebuild && refuses_restore(answer->text())) {
        return rebuild(decision, rebuild_reason::restore_refused);
      }
      break;
    case errc::oom:
      decision.action = restore_action::stop_oom;
      return decision;
    default:
      break;
  }
  switch (protocol::disposition_of(decision.error)) {
    case protocol::disposition::retry:
      decision.action = restore_action::retry;
      break;
    case protocol::disposition::fail_key:
      decision.action = restore_action::fail_key;
      break;
    case protocol::disposition::fatal:
      decision.action = restore_action::stop;
      break;
  }
  return decision;
}

restore_decision judge_set(const protocol::reply* answer, const restore_situation& key) {
  if (answer == nullptr || !answer->is_nil()) return judge_restore(answer, key);
  // SET ... NX answers nil where RESTORE answers BUSYKEY: the key exists on the target.
  restore_decision decision;
  decision.error = errc::busykey;
  decision.action = busy_key(key);
  return decision;
}

restore_decision judge_erase(const protocol::reply* answer) {
  if (answer == nullptr || !answer->is_error()) return judge_restore(answer, {});
  restore_decision decision = judge_restore(answer, {});
  // A DEL meets no existing-key policy and no payload trouble.
  if (decision.action == restore_action::check_ours ||
      decision.action == restore_action::settle_by_value ||
      decision.action == restore_action::fail_too_large ||
      decision.action == restore_action::fail_key || decision.action == restore_action::rebuild) {
    decision.action = restore_action::stop;
  }
  return decision;
}

restore_action judge_ours(bool ours, const restore_situation& key) {
  if (ours) return restore_action::copied;
  switch (key.policy) {
    case existing_policy::unset:
      // The target was empty when the job began, so the key is ferry's own: SCAN may return a
      // key twice (its table shrank between two calls); it is seen again, not failed.
      return restore_action::settle_by_value;
    case existing_policy::skip:
      return restore_action::skip;
    case existing_policy::fail:
      return restore_action::fail_existing;
    case existing_policy::replace:
      // RESTORE ... REPLACE does not answer BUSYKEY; only a rescan's first write (without
      // REPLACE) does, and a rescan settles by value.
      return restore_action::settle_by_value;
  }
  return restore_action::settle_by_value;
}

restore_action judge_existing(bool same, const restore_situation& key) {
  if (same) return restore_action::rescanned;
  // Another value: the key changed on the source since the first pass, or the target held it
  // before the job. Only a policy that lets ferry overwrite the target's keys replaces it; with
  // none given the target was empty when the job began, so the key is ferry's own.
  switch (key.policy) {
    case existing_policy::skip:
      return restore_action::skip;
    case existing_policy::fail:
      return restore_action::fail_existing;
    case existing_policy::unset:
    case existing_policy::replace:
      return restore_action::replace;
  }
  return restore_action::replace;
}

restore_action judge_replace(const protocol::reply& answer) {
  return answer.is_error() ? restore_action::fail_key : restore_action::rescanned;
}

restore_decision judge_replace(const protocol::reply& answer, const restore_situation& key) {
  restore_decision decision;
  decision.action = judge_replace(answer);
  if (!answer.is_error()) return decision;
  decision.error = protocol::classify_error_reply(answer.text());
  if (!key.can_rebuild) return decision;
  if (decision.error == errc::bad_payload) return rebuild(decision, rebuild_reason::bad_payload);
  if (decision.error == errc::key_too_large) {
    return rebuild(decision, rebuild_reason::over_bulk_limit);
  }
  if (refuses_restore(answer.text())) return rebuild(decision, rebuild_reason::restore_refused);
  return decision;
}

}  // namespace ferry::engine
