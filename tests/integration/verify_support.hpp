#pragma once
// Helpers shared by the `ferry verify` integration tests: running verify with the usual flags,
// reading its diff file and report, and planting differences on a target.

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/dataset.hpp"
#include "tests/support/ferry_process.hpp"
#include "tests/support/json_files.hpp"
#include "tests/support/keyspace.hpp"
#include "tests/support/sync_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace ferry::testing {

/// A verify run's outputs in one place.
class verify_run {
 public:
  /// Runs `ferry verify` with --diff, --report and --progress never in `dir`, plus `extra`.
  verify_run(const temp_dir& dir, const std::string& source, const std::string& target,
             std::vector<std::string> extra = {},
             std::chrono::seconds timeout = std::chrono::seconds{120})
      : diff_(dir / "diff.jsonl"), report_(dir / "report.json") {
    std::filesystem::remove(diff_);
    std::filesystem::remove(report_);
    std::vector<std::string> args{"verify",         "--source",   source,         "--target",
                                  target,           "--diff",     diff_.string(), "--report",
                                  report_.string(), "--progress", "never"};
    args.insert(args.end(), extra.begin(), extra.end());
    result = run_ferry(args, timeout);
  }

  /// The kind of each difference, by printable key.
  std::map<std::string, std::string> kinds() const {
    std::map<std::string, std::string> out;
    for (const auto& line : diffs()) out[line["key"].get<std::string>()] = line["kind"];
    return out;
  }
  /// Every diff line.
  std::vector<nlohmann::json> diffs() const { return read_json_lines(diff_); }
  /// The report's totals.
  nlohmann::json totals() const { return read_json(report_)["totals"]; }
  /// The whole report.
  nlohmann::json report() const { return read_json(report_); }
  /// The diff file, for messages.
  std::string diff_text() const {
    std::ifstream in(diff_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  /// How ferry ended.
  ferry_result result;

 private:
  std::filesystem::path diff_;
  std::filesystem::path report_;
};

}  // namespace ferry::testing

namespace ferry::testing {

/// Runs one keyed command through `target` (a server or a cluster) and throws on an error.
inline reply keyed(key_router& target, std::vector<std::string> command) {
  reply answer = target.pipeline_keyed({std::move(command)}).front();
  if (answer.is_error()) throw std::runtime_error("planting a difference failed: " + answer.str);
  return answer;
}

/// Plants one difference of every kind on `target`, which holds what `source` holds (a dataset
/// of fill_every_type with count_per_kind >= 2, big_per_kind >= 1 and some expiries). Returns
/// the kind ferry must report for each key.
inline std::map<std::string, std::string> plant_differences(key_router& target,
                                                            const keyspace& source) {
  std::map<std::string, std::string> expected;
  keyed(target, {"DEL", "str:embstr:0"});
  expected["str:embstr:0"] = "missing";
  keyed(target, {"SET", "only-on-target", "x"});
  expected["only-on-target"] = "extra";
  keyed(target, {"APPEND", "str:raw:1", "x"});
  expected["str:raw:1"] = "value";
  // Same member counts, one member swapped: only a comparison of members can tell.
  const std::string member = keyed(target, {"SRANDMEMBER", "set:hashtable:0"}).str;
  keyed(target, {"SREM", "set:hashtable:0", member});
  keyed(target, {"SADD", "set:hashtable:0", "planted-member"});
  expected["set:hashtable:0"] = "value";
  const std::string field = keyed(target, {"HRANDFIELD", "hash:hashtable:0"}).str;
  keyed(target, {"HSET", "hash:hashtable:0", field, "changed"});
  expected["hash:hashtable:0"] = "value";
  const std::string scored = keyed(target, {"ZRANGE", "zset:skiplist:0", "0", "0"})[0].str;
  keyed(target, {"ZINCRBY", "zset:skiplist:0", "1", scored});
  expected["zset:skiplist:0"] = "value";
  keyed(target, {"LSET", "list:quicklist:0", "5", "changed"});
  expected["list:quicklist:0"] = "value";
  const std::string number = keyed(target, {"SRANDMEMBER", "set:intset:0"}).str;
  keyed(target, {"SREM", "set:intset:0", number});
  keyed(target, {"SADD", "set:intset:0", "987654321"});
  expected["set:intset:0"] = "value";
  keyed(target, {"DEL", "hash:listpack:1"});
  keyed(target, {"RPUSH", "hash:listpack:1", "now a list"});
  expected["hash:listpack:1"] = "type";
  keyed(target, {"XADD", "stream:small:0", "*", "added", "entry"});
  expected["stream:small:0"] = "value";
  const reply pending = keyed(target, {"XPENDING", "stream:groups:0", "g1", "-", "+", "1"});
  keyed(target, {"XACK", "stream:groups:0", "g1", pending[0][0].str});
  expected["stream:groups:0"] = "value";

  // Expiries: removed, added, moved by 10 s, on keys nothing else touched.
  std::vector<const key_record*> with, without;
  for (const key_record& r : source) {
    if (expected.count(r.key) || r.key.rfind("str:int:", 0) != 0) continue;
    (r.expire_at_ms > 0 ? with : without).push_back(&r);
  }
  if (with.size() < 2 || without.empty()) throw std::runtime_error("dataset has too few expiries");
  keyed(target, {"PERSIST", with[0]->key});
  expected[with[0]->key] = "expiry";
  keyed(target, {"PEXPIREAT", with[1]->key, std::to_string(with[1]->expire_at_ms + 10'000)});
  expected[with[1]->key] = "expiry";
  keyed(target, {"PEXPIREAT", without[0]->key, std::to_string(now_ms() + 3'600'000)});
  expected[without[0]->key] = "expiry";
  return expected;
}

}  // namespace ferry::testing
