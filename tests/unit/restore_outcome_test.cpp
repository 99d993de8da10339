// The writer's decisions as tables: what a RESTORE answer means under each policy and
// situation, and what follows the checks a BUSYKEY asks for.

#include "engine/copy/restore_outcome.hpp"

#include <gtest/gtest.h>

namespace ferry::engine {
namespace {

using protocol::errc;
using protocol::reply;
using protocol::reply_kind;
using action = restore_action;
using policy = existing_policy;

reply ok() { return {reply_kind::status, 0, protocol::bytes::copy_of("OK"), {}}; }
reply error(std::string_view text) {
  return {reply_kind::error, 0, protocol::bytes::copy_of(text), {}};
}

const char* const busy = "BUSYKEY Target key name already exists.";

struct row {
  const char* what;
  std::optional<reply> answer;  // none: the connection broke before the reply
  restore_situation key;
  action expected;
  errc error = errc::server_error;
};

TEST(judge_restore, decides_every_answer_under_every_situation) {
  const restore_situation fresh{policy::unset, false, false, false};
  const restore_situation ambiguous{policy::unset, false, false, true};
  const restore_situation resumed{policy::replace, false, true, false};
  const restore_situation rescan{policy::unset, true, false, false};
  const restore_situation skip{policy::skip, false, false, false};
  const restore_situation fail{policy::fail, false, false, false};
  const restore_situation fail_ambiguous{policy::fail, false, false, true};
  const row rows[] = {
      {"written", ok(), fresh, action::copied},
      {"no reply", std::nullopt, fresh, action::retry, errc::connection_closed},
      {"MOVED", error("MOVED 1 127.0.0.1:7002"), fresh, action::redirect, errc::moved},
      {"ASK", error("ASK 1 127.0.0.1:7002"), fresh, action::redirect, errc::ask},
      {"TRYAGAIN", error("TRYAGAIN resharding"), fresh, action::retry, errc::tryagain},
      {"LOADING", error("LOADING loading"), fresh, action::retry, errc::loading},
      {"CLUSTERDOWN", error("CLUSTERDOWN The cluster is down"), fresh, action::retry,
       errc::clusterdown},
      {"busy key, target empty at start: ours by rule", error(busy), fresh, action::settle_by_value,
       errc::busykey},
      {"busy key after a broken connection", error(busy), ambiguous, action::check_ours,
       errc::busykey},
      {"busy key on a resumed job", error(busy), resumed, action::check_ours, errc::busykey},
      {"busy key on a rescan", error(busy), rescan, action::settle_by_value, errc::busykey},
      {"busy key, --on-existing skip", error(busy), skip, action::skip, errc::busykey},
      {"busy key, --on-existing fail", error(busy), fail, action::fail_existing, errc::busykey},
      {"busy key, --on-existing fail, maybe ours", error(busy), fail_ambiguous, action::check_ours,
       errc::busykey},
      {"payload from a newer server", error("ERR DUMP payload version or checksum are wrong"),
       fresh, action::fail_key, errc::bad_payload},
      {"bad data format", error("ERR Bad data format"), fresh, action::fail_key, errc::bad_payload},
      {"too large", error("ERR Protocol error: invalid bulk length"), fresh, action::fail_too_large,
       errc::key_too_large},
      {"out of memory", error("OOM command not allowed when used memory > 'maxmemory'."), fresh,
       action::stop_oom, errc::oom},
      {"RESTORE not allowed",
       error("NOPERM this user has no permissions to run the 'restore' "
             "command"),
       fresh, action::stop, errc::no_permission},
      {"a replica as target", error("READONLY You can't write against a read only replica."), fresh,
       action::stop, errc::readonly},
      {"RESTORE renamed away", error("ERR unknown command 'RESTORE', with args beginning with: "),
       fresh, action::stop, errc::unknown_command},
  };
  for (const row& r : rows) {
    const restore_decision d = judge_restore(r.answer ? &*r.answer : nullptr, r.key);
    EXPECT_EQ(d.action, r.expected) << r.what;
    if (r.expected != action::copied) {
      EXPECT_EQ(d.error, r.error) << r.what;
    }
  }
}

TEST(judge_restore, with_struct_mode_what_restore_cannot_carry_is_rebuilt_and_says_why) {
  restore_situation can{policy::unset, false, false, false};
  can.can_rebuild = true;
  struct rebuild_row {
    const char* what;
    const char* answer;
    action expected;
    rebuild_reason why;
  };
  const rebuild_row rows[] = {
      {"payload from a newer server", "ERR DUMP payload version or checksum are wrong",
       action::rebuild, rebuild_reason::bad_payload},
      {"a type the target does not know", "ERR Bad data format", action::rebuild,
       rebuild_reason::bad_payload},
      {"over proto-max-bulk-len", "ERR Protocol error: invalid bulk length", action::rebuild,
       rebuild_reason::over_bulk_limit},
      {"RESTORE renamed away", "ERR unknown command 'RESTORE', with args beginning with: ",
       action::rebuild, rebuild_reason::restore_refused},
      {"RESTORE not allowed (6.x)",
       "NOPERM this user has no permissions to run the 'restore' command or its subcommand",
       action::rebuild, rebuild_reason::restore_refused},
      {"RESTORE not allowed (7.x)",
       "NOPERM User ferry has no permissions to run the 'restore' command", action::rebuild,
       rebuild_reason::restore_refused},
      {"a key pattern the user may not write", "NOPERM No permissions to access a key",
       action::stop, rebuild_reason::none},
      {"out of memory stays fatal", "OOM command not allowed when used memory > 'maxmemory'.",
       action::stop_oom, rebuild_reason::none},
      {"a replica stays fatal", "READONLY You can't write against a read only replica.",
       action::stop, rebuild_reason::none},
  };
  for (const rebuild_row& r : rows) {
    const reply answer = error(r.answer);
    const restore_decision d = judge_restore(&answer, can);
    EXPECT_EQ(d.action, r.expected) << r.what;
    EXPECT_EQ(d.why, r.why) << r.what;
    // A RESTORE ... REPLACE meeting the same refusal.
    if (r.expected == action::rebuild) {
      EXPECT_EQ(judge_replace(answer, can).action, action::rebuild) << r.what;
      EXPECT_EQ(judge_replace(answer, can).why, r.why) << r.what;
    }
  }
  EXPECT_EQ(judge_replace(ok(), can).action, action::rescanned);
  EXPECT_EQ(judge_replace(error("ERR Bad data format"), {}).action, action::fail_key);
  // A DEL never goes to struct mode.
  const reply unknown = error("ERR unknown command 'DEL'");
  EXPECT_EQ(judge_erase(&unknown).action, action::stop);
}

TEST(refuses_restore, tells_a_missing_restore_from_a_refused_key) {
  EXPECT_TRUE(refuses_restore("ERR unknown command 'RESTORE', with args beginning with: "));
  EXPECT_TRUE(refuses_restore("ERR unknown command `RESTORE`, with args beginning with: "));
  EXPECT_TRUE(refuses_restore("NOPERM User u has no permissions to run the 'restore' command"));
  EXPECT_FALSE(refuses_restore("NOPERM No permissions to access a key"));
  EXPECT_FALSE(refuses_restore("ERR DUMP payload version or checksum are wrong"));
}

TEST(judge_restore, a_redirect_carries_its_node) {
  const reply moved = error("MOVED 3999 10.0.0.2:7002");
  const auto d = judge_restore(&moved, {});
  ASSERT_TRUE(d.to.has_value());
  EXPECT_EQ(d.to->host, "10.0.0.2");
  EXPECT_EQ(d.to->port, 7002);
}

TEST(judge_erase, a_deletion_is_settled_by_any_integer_and_follows_redirects) {
  const reply one{reply_kind::integer, 1, {}, {}};
  const reply zero{reply_kind::integer, 0, {}, {}};
  EXPECT_EQ(judge_erase(&one).action, action::copied);
  EXPECT_EQ(judge_erase(&zero).action, action::copied);  // already gone: the target agrees
  EXPECT_EQ(judge_erase(nullptr).action, action::retry);
  const reply moved = error("MOVED 1 127.0.0.1:7002");
  EXPECT_EQ(judge_erase(&moved).action, action::redirect);
  const reply tryagain = error("TRYAGAIN resharding");
  EXPECT_EQ(judge_erase(&tryagain).action, action::retry);
  const reply noperm = error("NOPERM this user has no permissions to run the 'del' command");
  EXPECT_EQ(judge_erase(&noperm).action, action::stop);
}

TEST(judge_ours, ours_is_copied_otherwise_the_policy_decides) {
  EXPECT_EQ(judge_ours(true, {policy::fail, false, false, true}), action::copied);
  EXPECT_EQ(judge_ours(true, {policy::replace, false, true, false}), action::copied);
  EXPECT_EQ(judge_ours(false, {policy::unset, false, false, true}), action::settle_by_value);
  EXPECT_EQ(judge_ours(false, {policy::skip, false, false, true}), action::skip);
  EXPECT_EQ(judge_ours(false, {policy::fail, false, false, true}), action::fail_existing);
}

TEST(judge_existing, the_same_value_is_rescanned_another_is_replaced_only_when_allowed) {
  for (const auto p : {policy::unset, policy::skip, policy::fail, policy::replace}) {
    EXPECT_EQ(judge_existing(true, {p, true, false, false}), action::rescanned);
  }
  EXPECT_EQ(judge_existing(false, {policy::unset, true, false, false}), action::replace);
  EXPECT_EQ(judge_existing(false, {policy::replace, true, false, false}), action::replace);
  EXPECT_EQ(judge_existing(false, {policy::skip, true, false, false}), action::skip);
  EXPECT_EQ(judge_existing(false, {policy::fail, true, false, false}), action::fail_existing);
}

TEST(judge_replace, an_error_fails_the_key) {
  EXPECT_EQ(judge_replace(ok()), action::rescanned);
  EXPECT_EQ(judge_replace(error("ERR DUMP payload version or checksum are wrong")),
            action::fail_key);
}

TEST(restore_with_replace, only_replace_outside_a_rescan) {
  EXPECT_TRUE(restore_with_replace({policy::replace, false, false, false}));
  EXPECT_FALSE(restore_with_replace({policy::replace, true, false, false}));
  EXPECT_FALSE(restore_with_replace({policy::unset, false, true, false}));
  EXPECT_FALSE(restore_with_replace({policy::skip, false, false, false}));
}

}  // namespace
}  // namespace ferry::engine
