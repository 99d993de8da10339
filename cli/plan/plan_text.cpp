#include <fmt/format.h>

#include "cli/plan/plan_output.hpp"
#include "cli/plan/text_table.hpp"
#include "engine/plan/findings.hpp"
#include "engine/runtime/key_text.hpp"

namespace ferry::cli {
namespace {

using namespace ferry::engine;

std::string bytes_text(std::uint64_t bytes) { return human_bytes(static_cast<double>(bytes)); }

std::string rate(double per_second) {
  return grouped(static_cast<unsigned long long>(per_second + 0.5));
}

std::string percent(double part, double whole) {
  return whole > 0 ? fmt::format("{:.1f} %", 100.0 * part / whole) : "-";
}

std::string ttl_text(std::int64_t ms) {
  if (ms < 0) return "none";
  return human_duration(static_cast<double>(ms) / 1000.0);
}

std::string config_text(const node_report& node, const std::string& name) {
  const config_value* v = node.config_of(name);
  if (v == nullptr) return "-";
  return v->known ? "'" + v->value + "'" : "unknown (" + v->refusal + ")";
}

void side_section(std::string& out, const char* title, const side_report& side) {
  const node_info& first = side.masters.front().info;
  out += fmt::format("{}  {}\n", title, side.url);
  out += fmt::format(
      "  {} {}, {}, {} master{}, {} replica{}, db {}{}\n", first.flavour,
      first.valkey_version.empty() ? first.version_text : first.valkey_version,
      side.cluster ? "OSS cluster"
                   : (side.enterprise_proxy ? "one endpoint (Enterprise policy)" : "standalone"),
      side.masters.size(), side.masters.size() == 1 ? "" : "s", side.replicas,
      side.replicas == 1 ? "" : "s", side.db, side.tls ? ", TLS" : "");
  text_table nodes({"node", "role", ">keys", ">used", ">data", ">peak", ">frag", ">maxmemory",
                    "policy", ">clients", ">ops/s", ">writes/s"});
  for (const auto& m : side.masters) {
    const memory_figures& mem = m.info.memory;
    nodes.row({m.address, m.info.role, grouped(m.dbsize), bytes_text(mem.used),
               bytes_text(movable_bytes(mem)), bytes_text(mem.peak),
               fmt::format("{:.2f}", mem.fragmentation),
               mem.maxmemory ? bytes_text(mem.maxmemory) : "none", mem.policy,
               grouped(m.info.connected_clients), rate(m.window.ops_per_sec()),
               rate(m.window.writes_per_sec())});
  }
  out += nodes.render();

  std::map<int, std::pair<std::uint64_t, std::uint64_t>> dbs;
  std::map<int, double> ttl_sums;
  for (const auto& m : side.masters) {
    for (const auto& db : m.info.keyspace) {
      dbs[db.db].first += db.keys;
      dbs[db.db].second += db.expires;
      ttl_sums[db.db] += static_cast<double>(db.avg_ttl_ms) * static_cast<double>(db.expires);
    }
  }
  if (!dbs.empty()) {
    text_table keyspace({"database", ">keys", ">with expiry", ">average ttl"});
    for (const auto& [db, counts] : dbs) {
      const double avg = counts.second ? ttl_sums[db] / static_cast<double>(counts.second) : -1;
      keyspace.row({fmt::format("db{}", db), grouped(counts.first), grouped(counts.second),
                    avg < 0 ? "-" : human_duration(avg / 1000)});
    }
    out += "\n";
    out += keyspace.render();
  }

  std::vector<std::string> modules;
  for (const auto& m : first.modules) modules.push_back(fmt::format("{} {}", m.name, m.version));
  const node_report& node = side.masters.front();
  out += fmt::format("\n  modules: {}\n",
                     modules.empty() ? "none" : fmt::format("{}", fmt::join(modules, ", ")));
  out += fmt::format("  notify-keyspace-events: {}\n", config_text(node, "notify-keyspace-events"));
  out += fmt::format("  client-output-buffer-limit: {}\n",
                     config_text(node, "client-output-buffer-limit"));
  out += fmt::format("  proto-max-bulk-len: {}\n", config_text(node, "proto-max-bulk-len"));
  if (node.function_libraries) {
    out += fmt::format("  function libraries: {}\n",
                       node.function_libraries->empty()
                           ? "none"
                           : fmt::format("{}", fmt::join(*node.function_libraries, ", ")));
  } else if (!node.functions_note.empty()) {
    out += fmt::format("  function libraries: unknown ({})\n", node.functions_note);
  }
  out += fmt::format("  ACL users: {}\n", node.acl_users
                                              ? fmt::format("{}", fmt::join(*node.acl_users, ", "))
                                              : std::string("unknown (ACL LIST refused)"));
  if (node.permissions.checked) {
    out += fmt::format(
        "  ferry's permissions ({}): {}\n",
        node.permissions.user.empty() ? "no ACL" : node.permissions.user,
        node.permissions.missing.empty()
            ? std::string("all there")
            : "missing " + fmt::format("{}", fmt::join(node.permissions.missing, ", ")));
  } else {
    out += fmt::format("  ferry's permissions: {}\n", node.permissions.note);
  }
  if (node.restore_available) {
    out += fmt::format("  RESTORE: {}\n", *node.restore_available ? "available" : "not available");
  }
}

void traffic_section(std::string& out, const side_report& source) {
  text_table t({"node", ">watched", ">ops/s", ">reads/s", ">writes/s", ">cpu", ">net in/s",
                ">net out/s", ">lifetime ops/s", ">lifetime writes"});
  for (const auto& m : source.masters) {
    const traffic_window& w = m.window;
    const double uptime = static_cast<double>(m.info.uptime_s);
    const command_mix mix = mix_of(m.info.commands);
    const double seconds = w.seconds > 0 ? w.seconds : 1;
    t.row(
        {m.address, fmt::format("{:.1f} s", w.seconds), rate(w.ops_per_sec()),
         rate(static_cast<double>(w.reads) / seconds), rate(w.writes_per_sec()),
         fmt::format("{:.0f} %", 100 * w.cpu_seconds / seconds),
         bytes_text(static_cast<std::uint64_t>(static_cast<double>(w.net_input_bytes) / seconds)),
         bytes_text(static_cast<std::uint64_t>(static_cast<double>(w.net_output_bytes) / seconds)),
         uptime > 0 ? rate(static_cast<double>(m.info.total_commands) / uptime) : "-",
         percent(static_cast<double>(mix.writes),
                 static_cast<double>(mix.writes + mix.reads + mix.other))});
  }
  out +=
      "\nTRAFFIC  while ferry looked (its own commands taken out; cpu and bytes include "
      "ferry's)\n";
  out += t.render();
}

void sample_section(std::string& out, const plan_report& r) {
  const sample_stats& s = r.sample;
  out += fmt::format(
      "\nSAMPLE  {} of {} keys{} (sizes: {} by MEMORY USAGE, {} by DUMP length, {} estimated)\n",
      grouped(s.keys()), grouped(r.source.keys()), r.scanned_all ? ", every key" : "",
      grouped(s.measured_by(size_source::memory_usage)),
      grouped(s.measured_by(size_source::dump_length)),
      grouped(s.measured_by(size_source::estimated)));
  if (s.keys() == 0) return;
  text_table types({"type", ">keys", ">share", ">bytes", ">mean"});
  for (const auto& [type, share] : s.types()) {
    types.row({type, grouped(share.keys),
               percent(static_cast<double>(share.keys), static_cast<double>(s.keys())),
               bytes_text(share.bytes), bytes_text(share.keys ? share.bytes / share.keys : 0)});
  }
  out += types.render();
  text_table sizes({"size", ">keys"});
  for (const auto& b : s.size_histogram()) {
    if (b.keys) sizes.row({b.label, grouped(b.keys)});
  }
  text_table ttls({"time to live", ">keys"});
  for (const auto& b : s.ttl_histogram()) {
    if (b.keys) ttls.row({b.label, grouped(b.keys)});
  }
  out += "\n";
  out += sizes.render();
  out += "\n";
  out += ttls.render();
  out += fmt::format(
      "\n  names: {} binary (bytes outside printable ASCII), {} with a hash tag; "
      "mean name {:.0f} bytes\n",
      grouped(s.binary_names()), grouped(s.hash_tagged()),
      static_cast<double>(s.key_name_bytes()) / static_cast<double>(s.keys()));
  text_table largest({"largest keys found", "type", ">size", ">ttl", "node"});
  for (const auto& k : s.largest()) {
    largest.row({printable_key(k.key), k.type, bytes_text(k.bytes), ttl_text(k.ttl_ms), k.node});
  }
  out += "\n";
  out += largest.render();
  if (!r.scanned_all) {
    out += "  (a sample cannot promise to find every large key: --scan-all looks at all of them)\n";
  }
  if (s.big_key_count() != 0) {
    out += fmt::format("  {} keys of at least {} found\n", grouped(s.big_key_count()),
                       bytes_text(s.big_key_bytes()));
  }
}

void estimate_section(std::string& out, const plan_report& r) {
  const size_estimate& e = r.size;
  out += "\nESTIMATES\n";
  text_table size({"figure", ">bytes", "how"});
  size.row({"data on the source", bytes_text(e.data_bytes + r.stream_slack_bytes),
            "INFO memory: used less the server's own (startup, client buffers, backlog)"});
  if (r.stream_slack_bytes != 0) {
    size.row({"less streams' preallocation", bytes_text(r.stream_slack_bytes),
              "XADD keeps up to 4 KiB free in a stream's last node; a copy does not"});
  }
  if (r.sampled_data_bytes) {
    size.row(
        {"sample extrapolated", bytes_text(r.sampled_data_bytes),
         fmt::format("mean key size x {} keys of db {}", grouped(r.source.keys()), r.source.db)});
  }
  size.row({"target used_memory after a copy", bytes_text(e.target_used_bytes),
            fmt::format("data + the target's own {}", bytes_text(e.target_baseline_bytes))});
  size.row({"with growth headroom", bytes_text(e.with_headroom_bytes),
            fmt::format("+{:.0f} %", e.headroom * 100)});
  size.row({"Azure Managed Redis size needed", fmt::format("{:.2f} GB", e.sku_bytes / 1e9),
            fmt::format("{:.0f} % of a cache's memory is reserved", e.reserved_fraction * 100)});
  out += size.render();

  text_table skus({"tier", "size", ">memory", ">vCPUs", ">shards", ">max clients",
                   ">documented GET/s", "note"});
  for (std::size_t i = 0; i < r.skus.tiers.size(); ++i) {
    const tier_choice& t = r.skus.tiers[i];
    const amr_sku* sku = t.chosen;
    const bool best = r.skus.recommended && *r.skus.recommended == i;
    if (sku == nullptr) {
      skus.row({t.title, "-", "", "", "", "", "", t.reason});
      continue;
    }
    skus.row({t.title + (best ? " *" : ""), sku->name, fmt::format("{:g} GB", sku->memory_gb),
              std::to_string(sku->vcpus), std::to_string(sku->primary_shards),
              sku->max_connections ? grouped(*sku->max_connections) : "-",
              sku->get_ops_per_sec ? grouped(*sku->get_ops_per_sec) : "-",
              sku->preview ? (t.reason.empty() ? "preview" : "preview; " + t.reason) : t.reason});
  }
  out += "\n";
  out += skus.render();
  out += fmt::format("  * recommended: {}\n", r.skus.why);
  out += fmt::format(
      "  workload: {} ops/s (the rate watched, or the lifetime average when the "
      "server has run an hour or more and that is higher), {} clients\n",
      rate(r.load.ops_per_sec), grouped(r.load.clients));
  out += fmt::format("  clustering: {}\n", clustering_advice(r));

  text_table time(
      {"source master", ">keys", ">DUMP rate", ">MB/s", ">rtt", ">RDB", ">copy time", ">writes/s"});
  for (std::size_t i = 0; i < r.source.masters.size(); ++i) {
    const node_report& m = r.source.masters[i];
    const auto& seconds =
        r.time.master_seconds.size() > i ? r.time.master_seconds[i] : std::nullopt;
    time.row({m.address, grouped(m.dbsize),
              m.probe.keys ? rate(m.probe.keys_per_sec()) + " keys/s"
                           : (m.probe.note.empty() ? "not measured" : m.probe.note),
              m.probe.keys ? fmt::format("{:.1f}", m.probe.bytes_per_sec() / 1e6) : "-",
              fmt::format("{:.2f} ms", m.probe.rtt_ms),
              m.probe.rdb_version ? std::to_string(m.probe.rdb_version) : "-",
              seconds ? human_duration(*seconds) : "-", rate(m.window.writes_per_sec())});
  }
  out += "\n";
  out += time.render();
  out += fmt::format(
      "  copy: {} at best (masters in parallel, at the rate the source served one pipelined "
      "reader of DUMP and expiry; the target and the network can make it slower)\n",
      r.time.copy_seconds ? human_duration(*r.time.copy_seconds) : "unknown");
  if (r.time.sync_keeps_up) {
    out += fmt::format(
        "  sync: {} at {} writes/s (each write re-copies its key; sync may use "
        "half of a master's DUMP rate)\n",
        *r.time.sync_keeps_up ? "keeps up" : "falls behind", rate(r.time.writes_per_sec));
  }
}

void findings_section(std::string& out, const plan_report& r) {
  out += "\nFINDINGS\n";
  if (r.findings.empty()) out += "  none\n";
  for (const auto& f : r.findings) {
    std::string level = severity_text(f.level);
    for (char& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += fmt::format("  {:<8} {}: {}\n", level, f.code, f.message);
    out += fmt::format("           -> {}\n", f.advice);
  }
}

}  // namespace

std::string plan_text(const plan_report& r) {
  std::string out;
  if (!r.source.masters.empty()) {
    side_section(out, "SOURCE", r.source);
    traffic_section(out, r.source);
    sample_section(out, r);
  }
  if (r.target && !r.target->masters.empty()) {
    out += "\n";
    side_section(out, "TARGET", *r.target);
  }
  if (!r.failure) {
    estimate_section(out, r);
    findings_section(out, r);
  }
  std::size_t counts[3] = {0, 0, 0};
  for (const auto& f : r.findings) ++counts[static_cast<std::size_t>(f.level)];
  if (r.failure) {
    out += fmt::format("\nVERDICT: could not run: {}\n", r.failure->message);
  } else {
    out += fmt::format("\nVERDICT: {} ({} blocker{}, {} warning{}, {} note{}; {:.1f} s)\n",
                       verdict_text(r.verdict), counts[0], counts[0] == 1 ? "" : "s", counts[1],
                       counts[1] == 1 ? "" : "s", counts[2], counts[2] == 1 ? "" : "s", r.seconds);
  }
  return out;
}

}  // namespace ferry::cli
