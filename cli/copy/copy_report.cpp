#include "cli/copy/copy_report.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "cli/common/json_file.hpp"
#include "cli/common/progress.hpp"
#include "engine/copy/batches.hpp"

namespace ferry::cli {

const char* status_name(engine::job_status status) {
  switch (status) {
    case engine::job_status::complete:
      return "complete";
    case engine::job_status::keys_failed:
      return "keys_failed";
    case engine::job_status::differences:
      return "differences";
    case engine::job_status::left_behind:
      return "keys_left_behind";
    case engine::job_status::interrupted:
      return "interrupted";
    case engine::job_status::fatal:
      return "failed";
  }
  return "unknown";
}

namespace {

nlohmann::json counts_json(const engine::counts& c, double duration_s) {
  nlohmann::json by_reason = nlohmann::json::object();
  for (std::size_t i = 1; i < engine::rebuild_reasons; ++i) {
    by_reason[engine::name_of(static_cast<engine::rebuild_reason>(i))] = c.rebuilt_by[i];
  }
  return {
      {"scanned", c.scanned},
      {"copied", c.copied},
      {"vanished", c.vanished},
      {"skipped", c.skipped},
      {"failed", c.failed},
      {"bytes", c.bytes},
      {"estimated", c.estimated},
      {"retries", c.retries},
      {"rescanned", c.rescanned},
      {"changed", c.changed},
      // How the copied keys were written, and why not by RESTORE.
      {"by_method", {{"restore", c.restored}, {"downgraded", c.downgraded}, {"struct", c.rebuilt}}},
      {"struct_reasons", std::move(by_reason)},
      {"duration_s", duration_s}};
}

/// "12 by RESTORE, 3 by type commands (2 bad_payload, 1 big_key)", for the summary.
std::string methods_text(const engine::counts& c) {
  std::string reasons;
  for (std::size_t i = 1; i < engine::rebuild_reasons; ++i) {
    if (c.rebuilt_by[i] == 0) continue;
    if (!reasons.empty()) reasons += ", ";
    reasons += fmt::format("{} {}", with_commas(c.rebuilt_by[i]),
                           engine::name_of(static_cast<engine::rebuild_reason>(i)));
  }
  std::string text = fmt::format("  written: {} by RESTORE", with_commas(c.restored));
  if (c.downgraded != 0) {
    text += fmt::format(", {} by RESTORE of a downgraded payload", with_commas(c.downgraded));
  }
  if (c.rebuilt != 0) {
    text +=
        fmt::format(", {} with type commands (struct mode: {})", with_commas(c.rebuilt), reasons);
  }
  return text + "\n";
}

/// The inline verifier's counts (the names of `ferry verify --report`).
nlohmann::json verify_json(const engine::verify_counts& c, double sample) {
  using engine::verify_counter;
  return {{"sample", sample},
          {"checked", c[verify_counter::checked]},
          {"equal", c[verify_counter::equal]},
          {"missing", c[verify_counter::missing]},
          {"value", c[verify_counter::value]},
          {"type", c[verify_counter::type]},
          {"expiry", c[verify_counter::expiry]},
          {"changed", c[verify_counter::changed]},
          {"vanished", c[verify_counter::vanished]},
          {"differences", c.differences()},
          {"deep", c[verify_counter::deep]},
          {"rechecked", c[verify_counter::rechecked]}};
}

}  // namespace

nlohmann::json report_json(const engine::copy_report& report) {
  nlohmann::json json{{"status", status_name(report.status)},
                      {"source", report.source},
                      {"target", report.target},
                      {"threads", report.threads},
                      {"peak_inflight_bytes", report.peak_inflight_bytes},
                      {"totals", counts_json(report.totals, report.duration_s)}};
  json["resumed"] = report.resumed;
  json["versions"] = {{"source", report.source_version}, {"target", report.target_version}};
  json["functions"] = {{"libraries", report.function_libraries},
                       {"masters_written", report.function_masters}};
  json["this_run"] = counts_json(report.this_run, report.duration_s);
  const engine::source_command_counts& sent = report.source_commands;
  json["source_commands"] = {{"scan", sent.scan},     {"get", sent.get},       {"dump", sent.dump},
                             {"expiry", sent.expiry}, {"asking", sent.asking}, {"info", sent.info},
                             {"total", sent.total()}};
  json["warnings"] = report.warnings;
  json["left_behind"] = nlohmann::json::array();
  for (const auto& db : report.left_behind) {
    json["left_behind"].push_back({{"db", db.db}, {"keys", db.keys}, {"expires", db.expires}});
  }
  json["shards"] = nlohmann::json::array();
  for (const auto& shard : report.shards) {
    auto entry = counts_json(shard.totals, report.duration_s);
    entry["source"] = shard.source;
    entry["cursor"] = std::to_string(shard.cursor);
    entry["start_cursor"] = std::to_string(shard.start_cursor);
    entry["resumed"] = shard.resumed;
    entry["complete"] = shard.complete;
    entry["rescan"] = shard.rescan;
    if (!shard.slots.empty()) entry["slots"] = shard.slots;
    if (report.verified) entry["verify"] = verify_json(shard.verify, report.verify_sample);
    json["shards"].push_back(std::move(entry));
  }
  if (report.verified) json["verify"] = verify_json(report.verify, report.verify_sample);
  if (report.part) {
    json["part"] = {{"index", report.part->part.index},
                    {"count", report.part->part.count},
                    {"slots", report.part->slots},
                    {"masters", report.part->masters},
                    {"whole_masters", report.part->whole_masters}};
  }
  if (report.failure) json["error"] = report.failure->message;
  return json;
}

std::string summary_text(const engine::copy_report& report) {
  const auto& t = report.totals;
  const auto& run = report.this_run;  // rates are this run's, even when resumed
  const double seconds = std::max(report.duration_s, 1e-9);
  std::string text = fmt::format(
      "ferry copy {}: {} -> {}\n"
      "  scanned {}  copied {}  vanished {}  skipped {}  failed {}\n"
      "  {:.1f} MB of payload in {:.2f} s ({:.0f} keys/s, {:.1f} MB/s), {} shard(s) on {} "
      "thread(s)\n",
      status_name(report.status), report.source, report.target, with_commas(t.scanned),
      with_commas(t.copied), with_commas(t.vanished), with_commas(t.skipped), with_commas(t.failed),
      static_cast<double>(run.bytes) / 1e6, report.duration_s,
      static_cast<double>(run.settled()) / seconds, static_cast<double>(run.bytes) / 1e6 / seconds,
      report.shards.size(), report.threads);
  if (report.part) {
    const auto& p = *report.part;
    std::string masters;
    for (const auto& m : p.masters) {
      if (!masters.empty()) masters += ", ";
      masters += m;
    }
    text +=
        fmt::format("  part {} of {} (--shard-index/--shard-count): slots {} of {}{}\n",
                    p.part.index, p.part.count, p.slots.empty() ? "(none)" : p.slots,
                    masters.empty() ? "no master" : masters, p.whole_masters ? "" : " (in part)");
  }
  if (t.rebuilt != 0 || t.downgraded != 0) text += methods_text(t);
  if (t.changed != 0) {
    text += fmt::format(
        "  {} big key(s) changed on the source while they were read in chunks: copied as read "
        "(ferry sync, or another copy, brings them up to date)\n",
        with_commas(t.changed));
  }
  if (t.retries != 0) text += fmt::format("  {} batch(es) retried\n", t.retries);
  if (t.rescanned != 0) {
    text += fmt::format(
        "  {} key(s) seen again and already on the target (moved slots rescanned, or keys SCAN "
        "returned twice)\n",
        with_commas(t.rescanned));
  }
  if (report.verified) {
    using engine::verify_counter;
    const auto& v = report.verify;
    const auto n = [&](verify_counter c) { return with_commas(v[c]); };
    text += fmt::format(
        "  verified {} of {} keys copied by this run ({}): equal {}  missing {}  different value "
        "{}  different type {}  different expiry {}  changed on the source {}  vanished {}\n",
        n(verify_counter::checked), with_commas(report.this_run.copied),
        report.verify_sample >= 1 ? std::string("all")
                                  : fmt::format("sample {:g}", report.verify_sample),
        n(verify_counter::equal), n(verify_counter::missing), n(verify_counter::value),
        n(verify_counter::type), n(verify_counter::expiry), n(verify_counter::changed),
        n(verify_counter::vanished));
  }
  if (report.resumed) {
    const auto& r = report.this_run;
    text += fmt::format("  resumed from a state file: this run scanned {} and copied {} keys\n",
                        with_commas(r.scanned), with_commas(r.copied));
  }
  return text;
}

}  // namespace ferry::cli
