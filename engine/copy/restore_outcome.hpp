#pragma once
// What the target's answer to one RESTORE means, and what a writer does next: the writer's
// decisions as pure functions (writer.cpp only runs the commands they ask for). A key goes
// through at most three of them:
//
//   judge_restore(reply)          the RESTORE's own answer (or none: the connection broke)
//     └ check_ours                BUSYKEY where an earlier attempt of this job may have written
//         └ judge_ours(ours)      the target holds exactly our value? then it is copied
//     └ settle_by_value           BUSYKEY on a key that is ferry's own by rule
//         └ judge_existing(same)  same value → rescanned; otherwise the policy decides
//             └ replace           RESTORE ... REPLACE; judge_replace(reply)
//   rebuild                       a key RESTORE cannot carry (a payload the target cannot read,
//                                 RESTORE refused, over the bulk limit): struct mode copies it
//
// Unit-tested as tables in tests/unit/restore_outcome_test.cpp.

#include <optional>
#include <string_view>

#include "engine/copy/batches.hpp"
#include "engine/copy/copy_config.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/reply.hpp"

namespace ferry::engine {

/// What to do with one key.
enum class restore_action {
  copied,           ///< the target took it: count it copied
  rescanned,        ///< the target already held exactly this (or now does): count it rescanned
  redirect,         ///< MOVED/ASK: write it where the redirect says (the round does)
  retry,            ///< not now, or no reply: write it again later (after no reply, ambiguously)
  check_ours,       ///< BUSYKEY after a write that may have happened: compare the target's value
  settle_by_value,  ///< BUSYKEY on a key that is ferry's own: compare, then keep or replace
  replace,          ///< overwrite the target's other value (RESTORE ... REPLACE)
  skip,             ///< leave the target's key (--on-existing skip): count it skipped
  fail_existing,    ///< leave the target's key (--on-existing fail): record it failed
  fail_too_large,   ///< over the target's proto-max-bulk-len: learn the limit, record it failed
  fail_key,         ///< refused for this key alone (a payload it cannot read, ...): record it
  rebuild,          ///< RESTORE cannot carry it (`why`): copy it with type commands instead
  stop_oom,         ///< the target is out of memory: stop the job with its memory figures
  stop,             ///< any other refusal: stop the job
};

/// What a writer knows about the key when it judges an answer.
struct restore_situation {
  /// --on-existing (unset: the target was empty when the job began, or this is a resumed job's
  /// own earlier write).
  existing_policy policy = existing_policy::unset;
  /// A rescan of moved slots: a key on the target may be the first pass's copy.
  bool rescan = false;
  /// The job resumes an earlier run, which may have written the key.
  bool resumed = false;
  /// An earlier attempt of this key was sent on a connection that broke before its reply.
  bool ambiguous = false;
  /// Struct mode is there to take what RESTORE cannot carry.
  bool can_rebuild = false;
};

/// A decision, with what it rests on.
struct restore_decision {
  /// What to do.
  restore_action action = restore_action::copied;
  /// The error class of the answer (for every action that comes from an error reply).
  protocol::errc error = protocol::errc::server_error;
  /// Where a MOVED/ASK sends the key (nothing when it could not be parsed: retry home).
  std::optional<protocol::redirect> to;
  /// Why the key is rebuilt (`rebuild`).
  rebuild_reason why = rebuild_reason::none;
};

/// True when an error reply to RESTORE says the target does not offer RESTORE at all (renamed
/// or disabled, or the ACL user may not run it) rather than refusing this key.
bool refuses_restore(std::string_view reply_text) noexcept;

/// The RESTORE's answer; `answer` is null when none came (the connection broke after sending).
restore_decision judge_restore(const protocol::reply* answer, const restore_situation& key);

/// The answer to `SET key value [PXAT ms] [NX]` (a string read with GET): like RESTORE's, with
/// the nil of NX on an existing key in place of BUSYKEY.
restore_decision judge_set(const protocol::reply* answer, const restore_situation& key);

/// The answer to `DEL key` (a key gone from the source): an integer settles it (copied: the
/// target now agrees with the source), errors are judged like RESTORE's (redirects, retries,
/// OOM cannot happen, anything else stops the job).
restore_decision judge_erase(const protocol::reply* answer);

/// After `check_ours`: whether the target holds exactly our value and expiry.
restore_action judge_ours(bool ours, const restore_situation& key);

/// After `settle_by_value`: whether the target's key equals ours.
restore_action judge_existing(bool same, const restore_situation& key);

/// After `replace`: the RESTORE ... REPLACE's answer (an error fails the key).
restore_action judge_replace(const protocol::reply& answer);

/// The same, where struct mode may take a payload the target cannot read (`rebuild`, with its
/// reason) instead of failing the key.
restore_decision judge_replace(const protocol::reply& answer, const restore_situation& key);

/// True when the RESTORE that writes a key carries REPLACE from the start (--on-existing
/// replace; a rescan writes without it first, to tell the first pass's keys from new ones).
constexpr bool restore_with_replace(const restore_situation& key) noexcept {
  return key.policy == existing_policy::replace && !key.rescan;
}

}  // namespace ferry::engine
