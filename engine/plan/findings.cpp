#include "engine/plan/findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "engine/plan/findings_detail.hpp"

namespace ferry::engine {
namespace detail {

bool core_type(std::string_view type) {
  for (const char* t : {"string", "list", "set", "zset", "hash", "stream"}) {
    if (type == t) return true;
  }
  return false;
}

std::optional<std::uint64_t> size_value(std::string_view text) {
  std::uint64_t n = 0;
  const char* end = text.data() + text.size();
  auto [after, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{}) return std::nullopt;
  std::string unit(after, end);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::uint64_t> units = {
      {"", 1},        {"b", 1},         {"k", 1000},       {"kb", 1024},
      {"m", 1000000}, {"mb", 1u << 20}, {"g", 1000000000}, {"gb", 1u << 30}};
  const auto it = units.find(unit);
  if (it == units.end()) return std::nullopt;
  return n * it->second;
}

std::vector<finding> rules::take() {
  std::stable_sort(out_.begin(), out_.end(),
                   [](const finding& a, const finding& b) { return a.level < b.level; });
  return std::move(out_);
}

std::string count_of(std::uint64_t n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (const auto& item : items) {
    if (!text.empty()) text += separator;
    text += item;
  }
  return text;
}

}  // namespace detail

namespace {

using namespace detail;

/// Per database over every master of a side: keys.
std::map<int, std::uint64_t> databases(const side_report& side) {
  std::map<int, std::uint64_t> dbs;
  for (const auto& m : side.masters) {
    for (const auto& entry : m.info.keyspace) dbs[entry.db] += entry.keys;
  }
  return dbs;
}

void check_databases(rules& x) {
  const auto dbs = databases(x.r_.source);
  std::vector<std::string> held;
  for (const auto& [db, keys] : dbs) {
    if (keys != 0) held.push_back(fmt::format("db{} ({})", db, count_of(keys, "key")));
  }
  if (held.size() > 1) {
    x.add(severity::warning, "several_databases",
          fmt::format("the source holds keys in {} databases: {}", held.size(), join(held)),
          fmt::format("ferry copies one database per job (this plan looks at db {}): run one job "
                      "per database with --source-db N. Azure Managed Redis and every cluster "
                      "have database 0 only, so give each database a cache of its own, or copy "
                      "them all into db 0 (--target-db 0) only if their key names never collide",
                      x.r_.source.db));
  }
  const auto job = dbs.find(x.r_.source.db);
  if ((job == dbs.end() || job->second == 0) && !held.empty()) {
    x.add(
        severity::warning, "job_database_empty",
        fmt::format("db {} of the source is empty; the keys are in {}", x.r_.source.db, join(held)),
        "choose the database with --source-db N (or /N in the URL)");
  }
}

void check_source(rules& x) {
  const plan_report& r = x.r_;
  const ferry_capabilities caps = r.capabilities;
  std::set<std::string> missing;
  for (const auto& m : r.source.masters) {
    for (const auto& c : m.permissions.missing) missing.insert(c);
  }
  if (!missing.empty()) {
    x.add(
        severity::blocker, "source_permissions",
        fmt::format("ferry's source user may not run: {}", join({missing.begin(), missing.end()})),
        "give it the rules listed in the README (\"Minimal ACL rules\", source)");
  }

  // Keyspace notifications, which ferry sync needs.
  std::vector<std::string> off, unknown;
  std::string setting;
  for (const auto& m : r.source.masters) {
    const config_value* v = m.config_of("notify-keyspace-events");
    if (v == nullptr || !v->known) {
      unknown.push_back(m.address);
    } else if (!missing_notification_flags(v->value).empty()) {
      off.push_back(fmt::format("{} ('{}')", m.address, v->value));
      setting = notification_setting(v->value);
    }
  }
  if (!off.empty()) {
    x.add(severity::warning, "notifications_off",
          fmt::format("keyspace notifications lack classes that ferry sync needs on {}", join(off)),
          fmt::format("ferry copy works without them; for ferry sync (a live migration) set "
                      "notify-keyspace-events to '{}' (CONFIG SET notify-keyspace-events {}, or "
                      "the cache's Advanced settings in the Azure portal)",
                      setting, setting));
  }
  if (!unknown.empty()) {
    x.add(severity::note, "notifications_unknown",
          fmt::format("notify-keyspace-events could not be read on {} (CONFIG refused)",
                      join(unknown)),
          fmt::format("for ferry sync it must include '{}': on Azure Cache for Redis set it in "
                      "the cache's Advanced settings",
                      sync_notification_flags));
  }

  // Pub/sub output buffers against sync's event rate.
  const double event_bytes =
      80.0 + (r.sample.keys() ? static_cast<double>(r.sample.key_name_bytes()) /
                                    static_cast<double>(r.sample.keys())
                              : 16.0);
  constexpr double stall_seconds = 10;
  for (const auto& m : r.source.masters) {
    const config_value* v = m.config_of("client-output-buffer-limit");
    if (v == nullptr || !v->known) continue;
    const auto limit = pubsub_limit(v->value);
    if (!limit) continue;
    const double rate = m.window.writes_per_sec();
    const double backlog = rate * event_bytes * stall_seconds;
    std::uint64_t smallest = 0;
    for (std::uint64_t b : {limit->hard, limit->soft}) {
      if (b != 0) smallest = smallest == 0 ? b : std::min(smallest, b);
    }
    if (smallest != 0 && backlog > static_cast<double>(smallest)) {
      x.add(severity::warning, "pubsub_buffer_small",
            fmt::format("{}: at {:.0f} writes/s, {} s of keyspace events (about {:.0f} bytes "
                        "each) are {}, more than the pubsub output buffer limit of {}",
                        m.address, rate, stall_seconds, event_bytes, human_bytes(backlog),
                        human_bytes(static_cast<double>(smallest))),
            "Redis drops a subscriber whose buffer passes the limit, and ferry sync must then "
            "reconcile that shard: raise it (CONFIG SET client-output-buffer-limit \"pubsub "
            "64mb 32mb 60\")");
    }
  }

  // ACL users and functions: part of a server, not of its keys.
  for (const auto& m : r.source.masters) {
    if (!m.acl_users) continue;
    std::vector<std::string> users;
    for (const auto& u : *m.acl_users) {
      if (u != "default") users.push_back(u);
    }
    if (!users.empty()) {
      x.add(severity::warning, "acl_users",
            fmt::format("{} has ACL users besides default: {}", m.address, join(users)),
            "users, passwords and ACL rules are settings, not data: ferry does not copy them. "
            "Create them on the target (on Azure Managed Redis: access policies or Microsoft "
            "Entra ID identities)");
      break;
    }
  }
  std::set<std::string> libraries;
  for (const auto& m : r.source.masters) {
    if (!m.function_libraries) continue;
    libraries.insert(m.function_libraries->begin(), m.function_libraries->end());
  }
  if (!libraries.empty()) {
    x.add(
        caps.copies_functions ? severity::note : severity::warning, "functions",
        fmt::format("the source holds {}: {}",
                    libraries.size() == 1 ? std::string("1 function library")
                                          : fmt::format("{} function libraries", libraries.size()),
                    join({libraries.begin(), libraries.end()})),
        caps.copies_functions
            ? "ferry copies them before the keys (FUNCTION DUMP / FUNCTION RESTORE)"
            : "they are not keys and this build of ferry does not copy them: load them on the "
              "target before cut-over (redis-cli --no-raw FUNCTION DUMP on the source, "
              "FUNCTION RESTORE on every target master)");
  }

  // Big keys.
  if (r.sample.big_key_count() != 0) {
    std::vector<std::string> names;
    for (const auto& key : r.sample.big_keys()) {
      if (names.size() == 5) break;
      names.push_back(fmt::format("'{}' ({} {})", key.key, key.type, human_bytes(key.bytes)));
    }
    x.add(severity::warning, "big_keys",
          fmt::format("{} of at least {} found{}: {}", count_of(r.sample.big_key_count(), "key"),
                      human_bytes(static_cast<double>(r.sample.big_key_bytes())),
                      r.scanned_all ? " (every key was looked at)" : " in the sample", join(names)),
          "a big key is read and written whole: it holds up its shard's pipeline and, with live "
          "traffic, blocks the source while DUMP serializes it; copy such keys at a quiet time");
  }

  // Sync against the write rate.
  if (r.time.sync_keeps_up == false) {
    x.add(severity::warning, "sync_too_slow",
          fmt::format("the source takes {:.0f} writes/s; re-copying each changed key would need "
                      "more than half of the DUMP rate measured",
                      r.time.writes_per_sec),
          "ferry copy is fine; a live sync would fall behind: plan a short write freeze for "
          "cut-over instead, or spread the load (a cluster source with more masters)");
  }
  for (const auto& m : r.source.masters) {
    if (m.info.role == "slave") {
      x.add(severity::note, "source_is_replica",
            fmt::format("{} is a replica: its data may lag its master's", m.address),
            "that is fine for planning; copy from the master, or a replica with "
            "--read-from replicas on a cluster");
    }
  }
}

void check_sizes(rules& x) {
  const plan_report& r = x.r_;
  if (!r.skus.recommended && !r.skus.tiers.empty()) {
    x.add(severity::warning, "no_sku_fits", r.skus.why,
          "split the data over several caches, or reduce it (expire what is not needed)");
  }
  if (!r.scanned_all && r.sample.keys() != 0 && r.sample.keys() < r.source.keys()) {
    x.add(severity::note, "sample_only",
          fmt::format("{} of {} keys were sampled: the largest keys listed are the largest "
                      "found, not necessarily the largest there are",
                      r.sample.keys(), r.source.keys()),
          "--scan-all looks at every key (rate-limited) and lists every key over "
          "--big-key-bytes");
  }
  if (r.sample.measured_by(size_source::memory_usage) == 0 && r.sample.keys() != 0) {
    x.add(severity::note, "memory_usage_refused",
          "MEMORY USAGE was refused: key sizes are DUMP lengths (serialized, usually smaller "
          "than in memory) or estimates from the type's length",
          "allow +memory|usage for a closer per-key picture; the total comes from INFO memory "
          "either way");
  }
}

}  // namespace

std::optional<buffer_limit> pubsub_limit(std::string_view value) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < value.size()) {
    const auto space = value.find(' ', at);
    const auto end = space == std::string_view::npos ? value.size() : space;
    if (end > at) words.push_back(value.substr(at, end - at));
    at = end + 1;
  }
  for (std::size_t i = 0; i + 3 < words.size(); ++i) {
    if (words[i] != "pubsub") continue;
    const auto hard = size_value(words[i + 1]);
    const auto soft = size_value(words[i + 2]);
    const auto seconds = size_value(words[i + 3]);
    if (!hard || !soft || !seconds) return std::nullopt;
    return buffer_limit{*hard, *soft, *seconds};
  }
  return std::nullopt;
}

std::optional<unsigned> rdb_version_of(const node_info& info) noexcept {
  if (info.flavour == "valkey") {
    const auto v = protocol::parse_server_version(
        info.valkey_version.empty() ? info.version_text : info.valkey_version);
    if ((v.major == 7 && v.minor == 2) || (v.major == 8 && v.minor <= 1)) return 11;
    return std::nullopt;
  }
  const auto v = info.version;
  if (v.major == 0) return std::nullopt;
  if (v.major < 3) return 6;
  if (v.major == 3) return 7;
  if (v.major == 4) return 8;
  if (v.major == 5 || v.major == 6) return 9;
  if (v.major == 7) {
    if (v.minor < 2) return 10;
    if (v.minor < 4) return 11;
    return 12;
  }
  if (v.major == 8 && v.minor == 0) return 12;
  return std::nullopt;
}

std::string clustering_advice(const plan_report& report) {
  if (report.source.cluster) {
    return "OSS clustering policy: the application's clients already speak the cluster protocol "
           "(the source is a cluster), and OSS gives the highest throughput";
  }
  std::vector<std::string> cross_slot;
  for (const auto& m : report.source.masters) {
    for (const auto& c : m.info.commands) {
      if (c.calls != 0 && multi_key(c.name, false)) cross_slot.push_back(c.name);
    }
  }
  std::string advice =
      "Enterprise clustering policy: one endpoint, as the application has today, so its client "
      "needs no cluster support; OSS is faster if the client is cluster-aware";
  if (!cross_slot.empty()) {
    advice +=
        "; the application runs multi-key commands that either policy refuses across "
        "slots (" +
        join(cross_slot) +
        "): give such keys a common hash tag, or use the "
        "non-clustered policy (25 GB at most)";
  }
  return advice;
}

std::vector<finding> evaluate(const plan_report& report) {
  rules x(report);
  check_databases(x);
  check_source(x);
  if (report.target) {
    detail::check_target(x);
  } else {
    x.add(severity::note, "no_target", "no --target was given: the target's checks were skipped",
          "run ferry plan again with --target URL once the target exists (it only reads)");
  }
  if (report.source.insecure || (report.target && report.target->insecure)) {
    x.add(severity::warning, "tls_unverified",
          "TLS certificates are not verified (--insecure) on " +
              std::string(report.source.insecure ? "the source" : "the target"),
          "give the CA with --cacert (Azure Managed Redis needs none: the system's store "
          "verifies it)");
  }
  check_sizes(x);
  return x.take();
}

plan_verdict verdict_of(const std::vector<finding>& findings) noexcept {
  plan_verdict verdict = plan_verdict::ready;
  for (const auto& f : findings) {
    if (f.level == severity::blocker) return plan_verdict::blocked;
    if (f.level == severity::warning) verdict = plan_verdict::with_warnings;
  }
  return verdict;
}

}  // namespace ferry::engine
