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

/// `rules` followed by `more`.
std::vector<std::string> joined(std::vector<std::string> rules,
                                const std::vector<std::string>& more);

/// `ACL SETUSER name reset on >password rules...` (an empty password: `nopass` is not given, so
/// the user cannot log in until a password is added).
void add_user(sync_client& admin, const std::string& name, const std::string& password,
              const std::vector<std::string>& rules);

}  // namespace ferry::testing
