#include "cli/export/export_report.hpp"

#include <fmt/format.h>

#include "cli/common/progress.hpp"
#include "cli/copy/copy_report.hpp"

namespace ferry::cli {
namespace {

nlohmann::json export_counts_json(const engine::counts& c, double duration_s) {
  return {{"scanned", c.scanned}, {"exported", c.copied},      {"vanished", c.vanished},
          {"failed", c.failed},   {"duplicates", c.rescanned}, {"bytes", c.bytes},
          {"retries", c.retries}, {"estimated", c.estimated},  {"duration_s", duration_s}};
}

}  // namespace

nlohmann::json export_report_json(const engine::export_report& r) {
  nlohmann::json json{{"status", status_name(r.status)},
                      {"source", r.source},
                      {"output", r.output},
                      {"file",
                       {{"rdb_version", r.rdb_version},
                        {"bytes", r.file_bytes},
                        {"gzip", r.gzip},
                        {"db", r.db},
                        {"functions", r.functions},
                        {"written", r.status != engine::job_status::fatal &&
                                        r.status != engine::job_status::interrupted}}},
                      {"point_in_time", false},
                      {"totals", export_counts_json(r.totals, r.duration_s)},
                      {"downgraded", r.downgraded},
                      {"threads", r.threads},
                      {"peak_inflight_bytes", r.peak_inflight_bytes},
                      {"dedup_bytes", r.dedup_bytes},
                      {"warnings", r.warnings}};
  json["shards"] = nlohmann::json::array();
  for (const auto& shard : r.shards) {
    auto entry = export_counts_json(shard.totals, r.duration_s);
    entry["source"] = shard.source;
    entry["rdb_version"] = shard.rdb_version;
    json["shards"].push_back(std::move(entry));
  }
  json["left_behind"] = nlohmann::json::array();
  for (const auto& db : r.left_behind) {
    json["left_behind"].push_back({{"db", db.db}, {"keys", db.keys}, {"expires", db.expires}});
  }
  if (r.failure) json["error"] = r.failure->message;
  return json;
}

std::string export_summary_text(const engine::export_report& r) {
  const auto& t = r.totals;
  const double seconds = std::max(r.duration_s, 1e-9);
  std::string text = fmt::format(
      "ferry export {}: {} -> {} (RDB {}{})\n"
      "  scanned {}  exported {}  vanished {}  failed {}\n"
      "  {:.1f} MB written in {:.2f} s ({:.1f} MB/s, {:.0f} keys/s), {} shard(s) on {} "
      "thread(s)\n",
      status_name(r.status), r.source, r.output, r.rdb_version, r.gzip ? ", gzip" : "",
      with_commas(t.scanned), with_commas(t.copied), with_commas(t.vanished), with_commas(t.failed),
      static_cast<double>(r.file_bytes) / 1e6, r.duration_s,
      static_cast<double>(r.file_bytes) / 1e6 / seconds, static_cast<double>(t.settled()) / seconds,
      r.shards.size(), r.threads);
  if (r.functions != 0)
    text += fmt::format("  {} function librar{} written\n", r.functions,
                        r.functions == 1 ? "y" : "ies");
  if (t.rescanned != 0) {
    text += fmt::format("  {} key(s) returned twice by SCAN were written once\n",
                        with_commas(t.rescanned));
  }
  if (r.downgraded != 0) {
    text += fmt::format("  {} payload(s) rewritten to RDB {}\n", with_commas(r.downgraded),
                        r.rdb_version);
  }
  if (r.status != engine::job_status::fatal && r.status != engine::job_status::interrupted) {
    text +=
        "  each key is as the source held it when ferry read it; the file is not a point-in-time "
        "snapshot of the whole source\n";
  }
  return text;
}

}  // namespace ferry::cli
