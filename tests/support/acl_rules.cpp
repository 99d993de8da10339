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
                                                 "+function|list", "+function|dump",
                                                 "+memory|usage"};
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
  // A table, as the README prints the rules.
  // clang-format off
  static const std::vector<std::string> rules = {
      "+scan",        "+type",   "+exists",       "+eval",         "+evalsha",         "+strlen",
      "+getrange",    "+llen",   "+lrange",       "+hlen",         "+hscan",           "+hmget",
      "+scard",       "+sscan",  "+sismember",    "+zcard",        "+zscan",           "+zscore",
      "+xlen",        "+xrange", "+xinfo|stream", "+xinfo|groups", "+xinfo|consumers", "+xpending",
      "+smembers",    "+hgetall", "+zrange",      "+pexpiretime",  "+pttl",            "+asking",
      "+dump"};
  // clang-format on
  return rules;
}

const std::vector<std::string>& target_rules_repair() {
  static const std::vector<std::string> rules = {"+del"};
  return rules;
}

acl_generation acl_generation_of(int major, int minor) {
  if (major < 7) return acl_generation::redis6;
  return major == 7 && minor < 4 ? acl_generation::redis7 : acl_generation::redis74;
}

namespace {

/// `rules` without those `drop` says a generation does not know.
std::vector<std::string> without(std::vector<std::string> rules, bool (*drop)(const std::string&)) {
  std::erase_if(rules, drop);
  return rules;
}

bool redis7_only(const std::string& rule) {
  return rule == "+pexpiretime" || rule.starts_with("+function|");
}

bool redis74_only(const std::string& rule) {
  return rule == "+hpexpiretime" || rule == "+hpexpireat";
}

}  // namespace

std::vector<std::string> source_rules_copy(acl_generation generation) {
  return generation == acl_generation::redis6 ? without(source_rules_copy(), redis7_only)
                                              : source_rules_copy();
}

std::vector<std::string> source_rules_struct(acl_generation generation) {
  std::vector<std::string> rules = {
      "+type",         "+memory|usage",    "+strlen",   "+getrange",      "+get",
      "+llen",         "+lrange",          "+scard",    "+smembers",      "+sscan",
      "+zcard",        "+zrange",          "+zscan",    "+hlen",          "+hgetall",
      "+hscan",        "+hpexpiretime",    "+xlen",     "+xrange",        "+xinfo|stream",
      "+xinfo|groups", "+xinfo|consumers", "+xpending", "+function|list", "+function|dump"};
  if (generation != acl_generation::redis74) std::erase_if(rules, redis74_only);
  if (generation == acl_generation::redis6) std::erase_if(rules, redis7_only);
  return rules;
}

std::vector<std::string> target_rules_struct(acl_generation generation) {
  std::vector<std::string> rules = {"+multi",
                                    "+exec",
                                    "+exists",
                                    "+type",
                                    "+pexpire",
                                    "+pexpireat",
                                    "+persist",
                                    "+pexpiretime",
                                    "+pttl",
                                    "+rename",
                                    "+renamenx",
                                    "+append",
                                    "+rpush",
                                    "+sadd",
                                    "+zadd",
                                    "+hset",
                                    "+hpexpireat",
                                    "+xadd",
                                    "+xsetid",
                                    "+xgroup|create",
                                    "+xgroup|createconsumer",
                                    "+xgroup|destroy",
                                    "+xclaim",
                                    "+xinfo|stream",
                                    "+xinfo|groups",
                                    "+scard",
                                    "+llen",
                                    "+zcard",
                                    "+hlen",
                                    "+xlen",
                                    "+strlen",
                                    "+scan",
                                    "+function|list",
                                    "+function|restore",
                                    "+function|load",
                                    "+function|flush"};
  if (generation != acl_generation::redis74) std::erase_if(rules, redis74_only);
  if (generation == acl_generation::redis6) std::erase_if(rules, redis7_only);
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
