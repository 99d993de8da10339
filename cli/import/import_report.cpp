#include "cli/import/import_report.hpp"

#include <fmt/format.h>

#include "cli/common/progress.hpp"
#include "cli/copy/copy_report.hpp"

namespace ferry::cli {
namespace {

/// Keys written by RESTORE of the file's payload as it is (the writers count a payload the feed
/// downgraded as restored too).
std::uint64_t import_restored_as_is(const engine::counts& c) {
  return c.restored >= c.downgraded ? c.restored - c.downgraded : 0;
}

nlohmann::json import_counts_json(const engine::counts& c, double duration_s) {
  nlohmann::json by_reason = nlohmann::json::object();
  for (std::size_t i = 1; i < engine::rebuild_reasons; ++i) {
    by_reason[engine::name_of(static_cast<engine::rebuild_reason>(i))] = c.rebuilt_by[i];
  }
  return {{"scanned", c.scanned},
          {"imported", c.copied},
          {"expired", c.vanished},
          {"skipped", c.skipped},
          {"failed", c.failed},
          {"bytes", c.bytes},
          {"estimated", c.estimated},
          {"retries", c.retries},
          {"rescanned", c.rescanned},
          // How the imported keys were written (as copy's report says it), and why not by
          // RESTORE: big_key (streamed by the reader), bad_payload (a type or encoding the
          // target does not know), restore_refused, forced (--mode struct).
          {"by_method",
           {{"restore", import_restored_as_is(c)},
            {"downgraded", c.downgraded},
            {"struct", c.rebuilt}}},
          {"struct_reasons", std::move(by_reason)},
          {"duration_s", duration_s}};
}

/// "  written: 12 by RESTORE, 2 by RESTORE of a downgraded payload, 3 with type commands
/// (struct mode: 2 bad_payload, 1 big_key)".
std::string import_methods_text(const engine::counts& c) {
  std::string text = fmt::format("  written: {} by RESTORE", with_commas(import_restored_as_is(c)));
  if (c.downgraded != 0) {
    text += fmt::format(", {} by RESTORE of a downgraded payload", with_commas(c.downgraded));
  }
  if (c.rebuilt != 0) {
    std::string reasons;
    for (std::size_t i = 1; i < engine::rebuild_reasons; ++i) {
      if (c.rebuilt_by[i] == 0) continue;
      if (!reasons.empty()) reasons += ", ";
      reasons += fmt::format("{} {}", with_commas(c.rebuilt_by[i]),
                             engine::name_of(static_cast<engine::rebuild_reason>(i)));
    }
    text +=
        fmt::format(", {} with type commands (struct mode: {})", with_commas(c.rebuilt), reasons);
  }
  return text + "\n";
}

nlohmann::json databases_json(const std::vector<engine::file_database>& databases) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : databases) {
    out.push_back({{"db", d.db}, {"keys", d.keys ? nlohmann::json(*d.keys) : nlohmann::json()}});
  }
  return out;
}

std::string megabytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

}  // namespace

nlohmann::json import_report_json(const engine::import_report& r) {
  nlohmann::json json{
      {"status", status_name(r.status)},
      {"input", r.input},
      {"target", r.target},
      {"target_server", r.target_server},
      {"target_rdb_version", r.target_rdb_version},
      {"file",
       {{"size", r.file_size},
        {"bytes_read", r.file_bytes_read},
        {"gzip", r.gzip},
        {"rdb_version", r.rdb_version},
        {"checksum_checked", r.checksum_checked},
        {"databases", databases_json(r.databases)},
        {"db", r.db}}},
      {"totals", import_counts_json(r.totals, r.duration_s)},
      {"this_run", import_counts_json(r.this_run, r.duration_s)},
      {"resumed", r.resumed},
      {"start_offset", r.start_offset},
      {"offset", r.offset},
      {"complete", r.complete},
      {"downgraded", r.downgraded},
      {"needs_struct", r.needs_struct},
      {"restore_refused", r.restore_refused},
      {"functions", {{"found", r.functions}, {"restored", r.functions_restored}}},
      {"threads", r.threads},
      {"peak_inflight_bytes", r.peak_inflight_bytes},
      {"warnings", r.warnings},
  };
  json["modules"] = nlohmann::json::array();
  for (const auto& m : r.modules) json["modules"].push_back({{"name", m.name}, {"keys", m.keys}});
  json["left_behind"] = databases_json(r.left_behind);
  if (r.failure) json["error"] = r.failure->message;
  return json;
}

std::string import_summary_text(const engine::import_report& r) {
  const auto& t = r.totals;
  const auto& run = r.this_run;
  const double seconds = std::max(r.duration_s, 1e-9);
  std::string file = fmt::format("RDB {}", r.rdb_version);
  if (r.file_size != 0) file += ", " + megabytes(r.file_size);
  if (r.gzip) file += ", gzip";
  std::string text = fmt::format(
      "ferry import {}: {} ({}) -> {}\n"
      "  read {} keys of db {}: imported {}  expired {}  skipped {}  failed {}\n"
      "  {} of the file read in {:.2f} s ({:.1f} MB/s, {:.0f} keys/s), {} of payload written, {} "
      "writer thread(s)\n",
      status_name(r.status), r.input, file, r.target, with_commas(t.scanned), r.db,
      with_commas(t.copied), with_commas(t.vanished), with_commas(t.skipped), with_commas(t.failed),
      megabytes(r.file_bytes_read), r.duration_s,
      static_cast<double>(r.file_bytes_read) / 1e6 / seconds,
      static_cast<double>(run.settled()) / seconds, megabytes(run.bytes), r.threads);
  if (t.copied != 0) text += import_methods_text(t);
  if (r.downgraded != 0) {
    text += fmt::format("  {} payload(s) rewritten for the target's RDB {} ({})\n",
                        with_commas(r.downgraded), r.target_rdb_version, r.target_server);
  }
  if (r.needs_struct != 0) {
    text += fmt::format(
        "  {} key(s) not imported: RESTORE could not carry them to {} and neither could type "
        "commands (struct mode); the failed-keys file says why for each\n",
        with_commas(r.needs_struct), r.target_server);
  }
  if (r.functions != 0) {
    text += fmt::format("  function libraries: {} in the file, {} restored\n", r.functions,
                        r.functions_restored);
  }
  if (t.retries != 0) text += fmt::format("  {} batch(es) retried\n", t.retries);
  if (r.resumed) {
    text += fmt::format("  resumed from a state file at byte {}: this run imported {} keys\n",
                        r.start_offset, with_commas(run.copied));
  }
  return text;
}

}  // namespace ferry::cli
