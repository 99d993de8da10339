#include "cli/plan/plan_output.hpp"
#include "engine/plan/findings.hpp"
#include "engine/runtime/key_text.hpp"

namespace ferry::cli {
namespace {

using namespace ferry::engine;
using nlohmann::json;

const char* source_name(size_source s) {
  switch (s) {
    case size_source::memory_usage:
      return "memory_usage";
    case size_source::dump_length:
      return "dump_length";
    case size_source::estimated:
      return "estimated";
  }
  return "estimated";
}

json key_json(const sampled_key& k) {
  return {{"key", printable_key(k.key)},
          {"key_base64", base64(k.key)},
          {"type", k.type},
          {"bytes", k.bytes},
          {"measured_by", source_name(k.measured_by)},
          {"ttl_ms", k.ttl_ms},
          {"node", k.node}};
}

json memory_json(const memory_figures& m) {
  return {{"used", m.used},
          {"peak", m.peak},
          {"startup", m.startup},
          {"dataset", m.dataset},
          {"rss", m.rss},
          {"clients_normal", m.clients_normal},
          {"clients_replicas", m.clients_replicas},
          {"replication_backlog", m.replication_backlog},
          {"aof_buffer", m.aof_buffer},
          {"eval_scripts", m.eval_scripts},
          {"cluster_links", m.cluster_links},
          {"movable", movable_bytes(m)},
          {"maxmemory", m.maxmemory},
          {"maxmemory_policy", m.policy},
          {"fragmentation_ratio", m.fragmentation}};
}

json node_json(const node_report& n) {
  const node_info& i = n.info;
  json keyspace = json::array();
  for (const auto& db : i.keyspace) {
    keyspace.push_back(
        {{"db", db.db}, {"keys", db.keys}, {"expires", db.expires}, {"avg_ttl_ms", db.avg_ttl_ms}});
  }
  json modules = json::array();
  for (const auto& m : i.modules) modules.push_back({{"name", m.name}, {"version", m.version}});
  json config = json::object();
  for (const auto& [name, value] : n.config) {
    config[name] = value.known ? json(value.value) : json({{"unknown", value.refusal}});
  }
  const command_mix mix = mix_of(i.commands);
  json node = {
      {"address", n.address},
      {"server", i.flavour},
      {"version", i.version_text},
      {"valkey_version", i.valkey_version},
      {"mode", i.mode},
      {"role", i.role},
      {"run_id", i.run_id},
      {"uptime_s", i.uptime_s},
      {"dbsize", n.dbsize},
      {"keyspace", keyspace},
      {"memory", memory_json(i.memory)},
      {"connected_clients", i.connected_clients},
      {"maxclients", i.maxclients},
      {"connected_replicas", i.connected_replicas},
      {"cpu_seconds", i.cpu_seconds},
      {"total_commands", i.total_commands},
      {"net_input_bytes", i.net_input_bytes},
      {"net_output_bytes", i.net_output_bytes},
      {"expired_keys", i.expired_keys},
      {"evicted_keys", i.evicted_keys},
      {"lifetime_commands", {{"writes", mix.writes}, {"reads", mix.reads}, {"other", mix.other}}},
      {"window",
       {{"seconds", n.window.seconds},
        {"commands", n.window.commands},
        {"reads", n.window.reads},
        {"writes", n.window.writes},
        {"ops_per_sec", n.window.ops_per_sec()},
        {"writes_per_sec", n.window.writes_per_sec()},
        {"cpu_seconds", n.window.cpu_seconds},
        {"net_input_bytes", n.window.net_input_bytes},
        {"net_output_bytes", n.window.net_output_bytes}}},
      {"modules", modules},
      {"config", config},
      {"acl_users", n.acl_users ? json(*n.acl_users) : json(nullptr)},
      {"function_libraries", n.function_libraries ? json(*n.function_libraries) : json(nullptr)},
      {"permissions",
       {{"checked", n.permissions.checked},
        {"user", n.permissions.user},
        {"missing", n.permissions.missing},
        {"note", n.permissions.note}}},
      {"sampled_keys", n.sampled},
  };
  if (n.restore_available) node["restore_available"] = *n.restore_available;
  if (n.probe.keys != 0 || n.probe.rtt_ms != 0) {
    node["dump_probe"] = {{"keys", n.probe.keys},
                          {"bytes", n.probe.bytes},
                          {"seconds", n.probe.seconds},
                          {"rtt_ms", n.probe.rtt_ms},
                          {"keys_per_sec", n.probe.keys_per_sec()},
                          {"bytes_per_sec", n.probe.bytes_per_sec()},
                          {"rdb_version", n.probe.rdb_version},
                          {"note", n.probe.note}};
  }
  return node;
}

json side_json(const side_report& s) {
  json masters = json::array();
  for (const auto& m : s.masters) masters.push_back(node_json(m));
  return {{"url", s.url},
          {"db", s.db},
          {"cluster", s.cluster},
          {"enterprise_proxy", s.enterprise_proxy},
          {"azure_managed_redis", s.azure_managed_redis},
          {"tls", s.tls},
          {"insecure", s.insecure},
          {"replicas", s.replicas},
          {"keys", s.keys()},
          {"data_bytes", s.data_bytes()},
          {"masters", masters}};
}

json sample_json(const plan_report& r) {
  const sample_stats& s = r.sample;
  json types = json::object();
  for (const auto& [type, share] : s.types())
    types[type] = {{"keys", share.keys}, {"bytes", share.bytes}};
  json sizes = json::array();
  for (const auto& b : s.size_histogram()) sizes.push_back({{"bucket", b.label}, {"keys", b.keys}});
  json ttls = json::array();
  for (const auto& b : s.ttl_histogram()) ttls.push_back({{"bucket", b.label}, {"keys", b.keys}});
  json largest = json::array();
  for (const auto& k : s.largest()) largest.push_back(key_json(k));
  json big = json::array();
  for (const auto& k : s.big_keys()) big.push_back(key_json(k));
  return {{"asked", r.sample_asked},
          {"scanned_all", r.scanned_all},
          {"keys", s.keys()},
          {"bytes", s.bytes()},
          {"mean_bytes", s.mean_bytes()},
          {"key_name_bytes", s.key_name_bytes()},
          {"measured_by",
           {{"memory_usage", s.measured_by(size_source::memory_usage)},
            {"dump_length", s.measured_by(size_source::dump_length)},
            {"estimated", s.measured_by(size_source::estimated)}}},
          {"types", types},
          {"sizes", sizes},
          {"ttls", ttls},
          {"with_ttl", s.with_ttl()},
          {"mean_ttl_ms", s.mean_ttl_ms()},
          {"largest", largest},
          {"big_key_bytes", s.big_key_bytes()},
          {"big_key_count", s.big_key_count()},
          {"big_keys", big},
          {"binary_names", s.binary_names()},
          {"hash_tagged", s.hash_tagged()}};
}

json sku_json(const amr_sku* sku) {
  if (sku == nullptr) return nullptr;
  return {{"name", sku->name},
          {"arm_name", sku->arm_name},
          {"memory_gb", sku->memory_gb},
          {"vcpus", sku->vcpus},
          {"primary_shards", sku->primary_shards},
          {"max_connections", sku->max_connections ? json(*sku->max_connections) : json(nullptr)},
          {"get_ops_per_sec", sku->get_ops_per_sec ? json(*sku->get_ops_per_sec) : json(nullptr)},
          {"preview", sku->preview}};
}

json estimates_json(const plan_report& r) {
  json tiers = json::array();
  for (const auto& t : r.skus.tiers) {
    tiers.push_back({{"tier", std::string(tier_key(t.tier))},
                     {"title", t.title},
                     {"memory_fit", sku_json(t.memory_fit)},
                     {"chosen", sku_json(t.chosen)},
                     {"reason", t.reason}});
  }
  json masters = json::array();
  for (std::size_t i = 0; i < r.time.master_seconds.size(); ++i) {
    masters.push_back(r.time.master_seconds[i] ? json(*r.time.master_seconds[i]) : json(nullptr));
  }
  const auto optional_number = [](const auto& value) {
    return value ? json(*value) : json(nullptr);
  };
  return {
      {"size",
       {{"data_bytes", r.size.data_bytes},
        {"sampled_data_bytes", r.sampled_data_bytes},
        {"stream_slack_bytes", r.stream_slack_bytes},
        {"target_baseline_bytes", r.size.target_baseline_bytes},
        {"target_used_bytes", r.size.target_used_bytes},
        {"headroom", r.size.headroom},
        {"with_headroom_bytes", r.size.with_headroom_bytes},
        {"reserved_fraction", r.size.reserved_fraction},
        {"sku_bytes", r.size.sku_bytes}}},
      {"workload", {{"ops_per_sec", r.load.ops_per_sec}, {"clients", r.load.clients}}},
      {"skus",
       {{"tiers", tiers},
        {"recommended", r.skus.recommended
                            ? json(std::string(tier_key(r.skus.tiers[*r.skus.recommended].tier)))
                            : json(nullptr)},
        {"why", r.skus.why}}},
      {"clustering", clustering_advice(r)},
      {"time",
       {{"master_seconds", masters},
        {"copy_seconds", optional_number(r.time.copy_seconds)},
        {"writes_per_sec", r.time.writes_per_sec},
        {"sync_margin", optional_number(r.time.sync_margin)},
        {"sync_keeps_up", optional_number(r.time.sync_keeps_up)}}}};
}

}  // namespace

json plan_json(const plan_report& r) {
  json findings = json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"severity", severity_text(f.level)},
                        {"code", f.code},
                        {"message", f.message},
                        {"advice", f.advice}});
  }
  json doc = {{"schema", "ferry.plan/1"},
              {"verdict", r.failure ? "could not run" : verdict_text(r.verdict)},
              {"seconds", r.seconds},
              {"capabilities",
               {{"struct_mode", r.capabilities.struct_mode},
                {"copies_functions", r.capabilities.copies_functions}}},
              {"findings", findings}};
  if (r.failure) doc["failure"] = r.failure->message;
  if (!r.source.masters.empty()) doc["source"] = side_json(r.source);
  if (r.target) doc["target"] = side_json(*r.target);
  if (!r.failure) {
    doc["sample"] = sample_json(r);
    doc["estimates"] = estimates_json(r);
  }
  return doc;
}

}  // namespace ferry::cli
