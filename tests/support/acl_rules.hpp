#pragma once
// The minimal ACL rules the README documents for ferry's users, word for word: the tests give
// their restricted users exactly these (plus a password or a token), so a rule missing from the
// README fails a test. Change the README and this file together.

#include <string>
#include <vector>

#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// What the source's user needs for `ferry copy`.
const std::vector<std::string>& source_rules_copy();
/// What the target's user needs for `ferry copy`.
const std::vector<std::string>& target_rules_copy();
/// What `ferry verify` needs on both sides in addition (the target's user must also be able to
/// run the copy's commands, which --repair uses).
const std::vector<std::string>& both_rules_verify();
/// What `ferry verify --repair` needs on the target in addition.
const std::vector<std::string>& target_rules_repair();

/// The server generations whose command sets the rules below are written for (the README's
/// "Minimal ACL rules" gives them per generation).
enum class acl_generation {
  redis6,   ///< Redis 6.0-6.2: no PEXPIRETIME, no functions, no hash-field expiries
  redis7,   ///< Redis 7.0-7.2 and Valkey 7.2-8.x: functions and PEXPIRETIME
  redis74,  ///< Redis 7.4 on: hash-field expiries (HPEXPIRETIME, HPEXPIREAT) too
};

/// The generation a server that behaves as Redis `major`.`minor` belongs to (6.x below 7).
acl_generation acl_generation_of(int major, int minor);

/// `source_rules_copy()` as a server of `generation` knows its commands (6.x: without
/// `+pexpiretime` and `+function|*`, which it refuses as unknown).
std::vector<std::string> source_rules_copy(acl_generation generation);
/// What struct mode (and function copy) adds to the source user's copy rules.
std::vector<std::string> source_rules_struct(acl_generation generation);
/// What struct mode (and function copy) adds to the target user's copy rules.
std::vector<std::string> target_rules_struct(acl_generation generation);

/// `rules` followed by `more`.
std::vector<std::string> joined(std::vector<std::string> rules,
                                const std::vector<std::string>& more);

/// `ACL SETUSER name reset on >password rules...` (an empty password: `nopass` is not given, so
/// the user cannot log in until a password is added).
void add_user(sync_client& admin, const std::string& name, const std::string& password,
              const std::vector<std::string>& rules);

}  // namespace ferry::testing
