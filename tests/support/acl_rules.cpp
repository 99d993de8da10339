#include "tests/support/acl_rules.hpp"

namespace ferry::testing {

const std::vector<std::string>& source_rules_copy() {
  static const std::vector<std::string> rules = {"resetkeys",      "~*",
                                                 "resetchannels",  "-@all",
                                                 "+ping",          "+client|setname",
                                                 "+select",        "+info",
                                                 "+dbsize",        "+cluster|shards",
                                                 "+cluster|slots", "+cluster|nodes",
                                                 "+readonly",      "+scan",
                                                 "+dump",          "+pexpiretime",
                                                 "+pttl",          "+get",
                                                 "+function|list", "+function|dump", "+memory|usage"};
  return rules;
}

const std::vector<std::string>& target_rules_copy() {
  static const std::vector<std::string> rules = {"resetkeys",
                                                 "~*",
                                                 "resetchannels",
                                                 "-@all",
                                                 "+ping",
                                                 "+client|setname",
                                                 "+select",
                                                 "+info",
                                                 "+dbsize",
                                                 "+cluster|shards",
                                                 "+cluster|slots",
                                                 "+restore",
                                                 "+asking",
                                                 "+dump",
                                                 "+del",
                                                 "+set",
                                                 "+get"};
  return rules;
}

const std::vector<std::string>& both_rules_verify() {
  static const std::vector<std::string> rules = {
      "+scan",        "+type",   "+exists",       "+eval",         "+evalsha",         "+strlen",
      "+getrange",    "+llen",   "+lrange",       "+hlen",         "+hscan",           "+hmget",
      "+scard",       "+sscan",  "+sismember",    "+zcard",        "+zscan",           "+zscore",
      "+xlen",        "+xrange", "+xinfo|stream", "+xinfo|groups", "+xinfo|consumers", "+xpending",
      "+pexpiretime", "+pttl",   "+asking"};
  return rules;
}

const std::vector<std::string>& target_rules_repair() {
  static const std::vector<std::string> rules = {"+del"};
  return rules;
}

std::vector<std::string> joined(std::vector<std::string> rules,
                                const std::vector<std::string>& more) {
  rules.insert(rules.end(), more.begin(), more.end());
  return rules;
}

void add_user(sync_client& admin, const std::string& name, const std::string& password,
              const std::vector<std::string>& rules) {
  std::vector<std::string> command{"ACL", "SETUSER", name, "reset", "on"};
  if (!password.empty()) command.push_back(">" + password);
  command.insert(command.end(), rules.begin(), rules.end());
  admin.checked(command);
}

}  // namespace ferry::testing
