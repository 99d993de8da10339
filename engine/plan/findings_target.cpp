// The plan's rules about the target: room, emptiness, RESTORE, versions, modules, the bulk
// limit, clustering, TLS and ferry's permissions there.

#include <fmt/format.h>

#include <set>

#include "engine/plan/findings.hpp"
#include "engine/plan/findings_detail.hpp"

namespace ferry::engine::detail {
namespace {

void check_memory(rules& x) {
  const side_report& target = *x.r_.target;
  std::uint64_t limit = 0;
  std::uint64_t used = 0;
  bool limited = !target.masters.empty();
  std::set<std::string> policies;
  for (const auto& m : target.masters) {
    if (m.info.memory.maxmemory == 0) limited = false;
    limit += m.info.memory.maxmemory;
    used += m.info.memory.used;
    policies.insert(m.info.memory.policy);
  }
  const std::uint64_t need = used + x.r_.size.data_bytes;
  if (limited && need > limit) {
    x.add(
        severity::blocker, "target_too_small",
        fmt::format("the target's maxmemory is {} and it already uses {}; the data needs {} "
                    "more ({} in all)",
                    human_bytes(static_cast<double>(limit)), human_bytes(static_cast<double>(used)),
                    human_bytes(static_cast<double>(x.r_.size.data_bytes)),
                    human_bytes(static_cast<double>(need))),
        "choose a larger target (see the sizes below) or raise its maxmemory; with "
        "noeviction the copy stops with OOM, with an eviction policy keys would be evicted");
  } else if (limited && static_cast<double>(need) > 0.9 * static_cast<double>(limit)) {
    x.add(severity::warning, "target_nearly_full",
          fmt::format("the data would fill the target to {:.0f} % of its maxmemory ({})",
                      100.0 * static_cast<double>(need) / static_cast<double>(limit),
                      human_bytes(static_cast<double>(limit))),
          "leave room for growth, fragmentation and replication buffers: choose a larger target");
  }
  for (const auto& policy : policies) {
    if (!policy.empty() && policy != "noeviction") {
      x.add(severity::warning, "target_evicts",
            fmt::format("the target's maxmemory-policy is {}: when it fills up it deletes keys "
                        "instead of refusing writes",
                        policy),
            "a migration should not lose keys silently: use noeviction on the target until "
            "the copy is verified");
      break;
    }
  }
}

}  // namespace

void check_target(rules& x) {
  const plan_report& r = x.r_;
  const side_report& target = *r.target;
  const ferry_capabilities caps = r.capabilities;
  std::uint64_t held = 0;
  for (const auto& m : target.masters) held += m.dbsize;
  if (held != 0) {
    x.add(severity::blocker, "target_not_empty",
          fmt::format("the target (db {}) already holds {}", target.db, count_of(held, "key")),
          "flush it first (FLUSHDB on every master, or Flush in the Azure portal), or tell ferry "
          "copy what to do with keys that exist: --on-existing fail|skip|replace");
  }
  for (const auto& source : r.source.masters) {
    for (const auto& m : target.masters) {
      if (!source.info.run_id.empty() && source.info.run_id == m.info.run_id &&
          r.source.db == target.db) {
        x.add(severity::blocker, "same_server",
              fmt::format("the source and the target are the same server ({})", m.address),
              "give the target's URL");
      }
    }
  }
  check_memory(x);

  bool refused = false;
  for (const auto& m : target.masters) {
    if (m.restore_available == false) refused = true;
  }
  if (refused) {
    x.add(caps.struct_mode ? severity::warning : severity::blocker, "restore_refused",
          "the target does not offer RESTORE (COMMAND INFO RESTORE finds no such command; "
          "Azure Managed Redis with active geo-replication refuses it too)",
          caps.struct_mode
              ? "ferry copies every key with type commands instead (struct mode): slower, "
                "and each key is built under a temporary name and renamed into place"
              : "this build of ferry copies keys with RESTORE only and would fail every key: "
                "migrate into a cache without geo-replication (and add it afterwards), or allow "
                "RESTORE");
  }

  // Versions: a payload newer than the target's RDB version is refused.
  const node_report* source = r.source.masters.empty() ? nullptr : &r.source.masters.front();
  const node_report* first = target.masters.empty() ? nullptr : &target.masters.front();
  if (source != nullptr && first != nullptr) {
    std::optional<unsigned> from = source->probe.rdb_version != 0
                                       ? std::optional<unsigned>(source->probe.rdb_version)
                                       : rdb_version_of(source->info);
    const std::optional<unsigned> to = rdb_version_of(first->info);
    bool newer = false;
    std::string detail;
    if (from && to) {
      newer = *from > *to;
      detail = fmt::format("RDB version {} against {}", *from, *to);
    } else if (source->info.flavour == first->info.flavour) {
      newer = first->info.version < source->info.version;
      detail = "by version; ferry does not know one of their RDB versions";
    }
    if (newer) {
      x.add(caps.struct_mode ? severity::warning : severity::blocker, "source_newer_than_target",
            fmt::format("the source runs {} {} and the target {} {} ({}): the target refuses "
                        "DUMP payloads of the newer format",
                        source->info.flavour, source->info.version_text, first->info.flavour,
                        first->info.version_text, detail),
            caps.struct_mode
                ? "ferry rewrites payloads the target can read and copies the other keys with "
                  "type commands (struct mode), which is slower"
                : "this build of ferry would fail every key: use a target at least as new as "
                  "the source (Azure Managed Redis runs Redis 7.4)");
    }
  }

  // Modules.
  std::set<std::string> target_modules;
  for (const auto& m : target.masters) {
    for (const auto& mod : m.info.modules) target_modules.insert(mod.name);
  }
  std::set<std::string> missing;
  for (const auto& m : r.source.masters) {
    for (const auto& mod : m.info.modules) {
      if (!target_modules.count(mod.name)) missing.insert(mod.name);
    }
  }
  if (!missing.empty()) {
    std::vector<std::string> module_types;
    for (const auto& [type, share] : r.sample.types()) {
      if (!core_type(type))
        module_types.push_back(fmt::format("{} ({})", type, count_of(share.keys, "key")));
    }
    x.add(
        module_types.empty() ? severity::warning : severity::blocker, "modules_missing",
        fmt::format("the source loads modules the target lacks: {}{}",
                    join({missing.begin(), missing.end()}),
                    module_types.empty() ? std::string(" (no key of a module type was sampled)")
                                         : "; sampled keys of module types: " + join(module_types)),
        "create the target with the same modules (Azure Managed Redis offers RedisJSON, "
        "RediSearch, RedisBloom and RedisTimeSeries when the cache is created); keys of a "
        "module type cannot be restored without it");
  }

  // Bulk limit: the largest key found against proto-max-bulk-len.
  std::uint64_t bulk = 512ull << 20;
  bool bulk_known = false;
  for (const auto& m : target.masters) {
    if (const auto* v = m.config_of("proto-max-bulk-len"); v && v->known) {
      if (auto n = size_value(v->value)) {
        bulk = bulk_known ? std::min(bulk, *n) : *n;
        bulk_known = true;
      }
    }
  }
  std::vector<std::string> over;
  std::uint64_t over_count = 0;
  for (const auto& key : r.sample.largest()) {
    if (key.bytes > bulk) {
      ++over_count;
      if (over.size() < 5)
        over.push_back(fmt::format("'{}' ({})", key.key, human_bytes(key.bytes)));
    }
  }
  if (over_count != 0) {
    x.add(caps.struct_mode ? severity::warning : severity::blocker, "keys_over_bulk_limit",
          fmt::format("{} of the largest keys found exceed the target's proto-max-bulk-len of "
                      "{}{}: {}",
                      over_count, human_bytes(static_cast<double>(bulk)),
                      bulk_known ? "" : " (the default; CONFIG GET was refused)", join(over)),
          caps.struct_mode ? "ferry copies them in chunks with type commands (struct mode)"
                           : "this build of ferry records such keys as failed: raise the target's "
                             "proto-max-bulk-len, or split the keys before migrating");
  }

  if (target.enterprise_proxy) {
    std::vector<std::string> used;
    for (const auto& m : r.source.masters) {
      for (const auto& c : m.info.commands) {
        if (c.calls != 0 && multi_key(c.name, false)) {
          used.push_back(fmt::format("{} ({} calls)", c.name, c.calls));
        }
      }
    }
    x.add(severity::warning, "enterprise_policy",
          "the target is one endpoint in front of a cluster (Enterprise clustering policy): only "
          "DEL, MSET, MGET, EXISTS, UNLINK and TOUCH may name keys of several slots" +
              (used.empty()
                   ? std::string()
                   : "; the source's application runs other multi-key commands: " + join(used)),
          "keep keys that are used together in one slot (a hash tag: {user42}:cart), or use the "
          "OSS clustering policy with a cluster-aware client, or the non-clustered policy "
          "(25 GB at most)");
  } else if (target.cluster && !r.source.cluster) {
    std::vector<std::string> used;
    for (const auto& m : r.source.masters) {
      for (const auto& c : m.info.commands) {
        if (c.calls != 0 && multi_key(c.name, true)) {
          used.push_back(fmt::format("{} ({} calls)", c.name, c.calls));
        }
      }
    }
    if (!used.empty()) {
      x.add(severity::warning, "cluster_multi_key",
            "the target is a cluster and the source's application runs commands that can name "
            "several keys: " +
                join(used),
            "in a cluster every key of one command must be in one slot: check those calls, or "
            "give such keys a common hash tag ({user42}:cart)");
    }
  }

  if (target.azure_managed_redis && !target.tls) {
    x.add(severity::warning, "azure_without_tls",
          "the target is an Azure Managed Redis host but the URL is redis:// (plain text)",
          "Azure Managed Redis listens with TLS on port 10000: use rediss://<name>.<region>."
          "redis.azure.net:10000");
  }

  std::set<std::string> missing_target;
  for (const auto& m : target.masters) {
    for (const auto& c : m.permissions.missing) {
      // A RESTORE that does not exist is restore_refused's finding.
      if (!(refused && c.rfind("restore", 0) == 0)) missing_target.insert(c);
    }
  }
  if (!missing_target.empty()) {
    x.add(severity::blocker, "target_permissions",
          fmt::format("ferry's target user may not run: {}",
                      join({missing_target.begin(), missing_target.end()})),
          "give it the rules listed in the README (\"Minimal ACL rules\", target)");
  }
}

}  // namespace ferry::engine::detail
