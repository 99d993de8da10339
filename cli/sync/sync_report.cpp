#include "cli/sync/sync_report.hpp"

#include <fmt/format.h>

#include "cli/common/progress.hpp"
#include "cli/copy/copy_report.hpp"
#include "engine/verify/verdict.hpp"

namespace ferry::cli {
namespace {

nlohmann::json lag_json(const engine::lag_snapshot& lag) {
  return {{"count", lag.total()},
          {"p50_ms", lag.quantile_ms(0.50)},
          {"p99_ms", lag.quantile_ms(0.99)},
          {"max_ms", lag.max_ms()}};
}

std::string time_or_empty(std::int64_t unix_ms) {
  return unix_ms == 0 ? std::string{} : engine::utc_time(unix_ms);
}

nlohmann::json gap_json(const std::string& shard, const engine::gap_record& g) {
  nlohmann::json j{{"shard", shard},
                   {"cause", g.cause},
                   {"detail", g.detail},
                   {"at", time_or_empty(g.at_ms)},
                   {"reconcile",
                    {{"started", time_or_empty(g.reconcile_started_ms)},
                     {"finished", time_or_empty(g.reconcile_finished_ms)},
                     {"compared", g.compared},
                     {"marked", g.marked}}}};
  if (!g.slots.empty()) j["slots"] = g.slots;
  return j;
}

std::string lag_text(const engine::lag_snapshot& lag) {
  if (lag.total() == 0) return "lag -";
  return fmt::format("lag p50 {:.1f} ms p99 {:.1f} ms max {:.1f} ms", lag.quantile_ms(0.5),
                     lag.quantile_ms(0.99), lag.max_ms());
}

}  // namespace

const char* status_name(engine::sync_status status) {
  switch (status) {
    case engine::sync_status::converged:
      return "converged";
    case engine::sync_status::cut_over:
      return "cut_over";
    case engine::sync_status::cutover_failed:
      return "cutover_failed";
    case engine::sync_status::keys_failed:
      return "keys_failed";
    case engine::sync_status::interrupted:
      return "interrupted";
    case engine::sync_status::fatal:
      return "failed";
  }
  return "unknown";
}

nlohmann::json sync_report_json(const engine::sync_report& report) {
  nlohmann::json json{{"command", "sync"}, {"status", status_name(report.status)}};
  json["snapshot"] = report_json(report.snapshot);
  nlohmann::json sync{{"converged", report.converged},
                      {"converged_at", time_or_empty(report.converged_at_ms)},
                      {"lag", lag_json(report.lag)}};
  std::uint64_t events = 0, ignored = 0, dropped = 0, recopied = 0, erased = 0, failed = 0,
                dirty = 0, marked = 0;
  sync["gaps"] = nlohmann::json::array();
  sync["shards"] = nlohmann::json::array();
  for (const auto& s : report.shards) {
    events += s.events;
    ignored += s.ignored;
    dropped += s.dropped;
    recopied += s.recopied;
    erased += s.erased;
    failed += s.failed;
    dirty += s.dirty_keys;
    marked += s.reconcile_marked;
    nlohmann::json shard{{"source", s.source},
                         {"node", s.node},
                         {"phase", engine::phase_name(s.phase)},
                         {"events", s.events},
                         {"ignored", s.ignored},
                         {"dropped", s.dropped},
                         {"recopied", s.recopied},
                         {"erased", s.erased},
                         {"failed", s.failed},
                         {"reconcile_marked", s.reconcile_marked},
                         {"stream_sweeps", s.stream_sweeps},
                         {"dirty_keys", s.dirty_keys},
                         {"lag", lag_json(s.lag)},
                         {"gaps", s.gaps.size()}};
    sync["shards"].push_back(std::move(shard));
    for (const auto& g : s.gaps) sync["gaps"].push_back(gap_json(s.source, g));
  }
  sync["events"] = events;
  sync["ignored"] = ignored;
  sync["dropped"] = dropped;
  sync["recopied"] = recopied;
  sync["erased"] = erased;
  sync["applied"] = recopied + erased;
  sync["failed"] = failed;
  sync["dirty_keys"] = dirty;
  sync["reconcile_marked"] = marked;
  json["sync"] = std::move(sync);
  if (report.cutover) {
    const auto& c = *report.cutover;
    json["cutover"] = {{"paused_at", time_or_empty(c.paused_at_ms)},
                       {"paused_until", time_or_empty(c.paused_until_ms)},
                       {"switch_at", time_or_empty(c.switch_at_ms)},
                       {"verified", c.verified},
                       {"differences", c.differences},
                       {"failure", c.failure}};
  }
  json["notes"] = report.notes;
  json["warnings"] = report.warnings;
  if (report.failure) json["error"] = report.failure->message;
  return json;
}

std::string sync_summary_text(const engine::sync_report& report) {
  std::string text = summary_text(report.snapshot);
  std::uint64_t events = 0, recopied = 0, erased = 0, failed = 0;
  std::size_t gaps = 0;
  for (const auto& s : report.shards) {
    events += s.events;
    recopied += s.recopied;
    erased += s.erased;
    failed += s.failed;
    gaps += s.gaps.size();
  }
  text += fmt::format(
      "ferry sync {}: {} keyspace event(s), {} key(s) re-copied, {} deleted on the target{}; {}\n",
      status_name(report.status), with_commas(events), with_commas(recopied), with_commas(erased),
      failed != 0 ? fmt::format(", {} failed", with_commas(failed)) : std::string{},
      lag_text(report.lag));
  if (gaps != 0) {
    text += fmt::format("  {} gap(s) in the event stream, each closed by a reconcile:\n", gaps);
    for (const auto& s : report.shards) {
      for (const auto& g : s.gaps) {
        text += fmt::format("    {} at {}: {}; reconcile compared {} key(s), marked {}{}\n",
                            g.cause, time_or_empty(g.at_ms), g.detail, with_commas(g.compared),
                            with_commas(g.marked),
                            g.reconcile_finished_ms != 0 ? "" : " (not finished)");
      }
    }
  }
  if (report.cutover) {
    const auto& c = *report.cutover;
    if (c.switch_at_ms != 0) {
      text += fmt::format(
          "  CUT-OVER at {}: every write the source accepted before its writes were paused (at "
          "{}) is on the target{}. Switch the application to the target now; the source's "
          "writes stay paused until {}, and writes sent to it after that are not copied.\n",
          engine::utc_time(c.switch_at_ms), engine::utc_time(c.paused_at_ms),
          c.verified != 0 ? fmt::format(" ({} sampled keys compared equal)", c.verified)
                          : std::string{},
          engine::utc_time(c.paused_until_ms));
    } else if (!c.failure.empty()) {
      text += fmt::format("  cut-over failed: {}; the source's writes were unpaused\n", c.failure);
    }
  }
  for (const auto& note : report.notes) text += fmt::format("  {}\n", note);
  return text;
}

std::string progress_text(const engine::sync_progress& now, const engine::lag_snapshot& window) {
  std::string phase;
  if (now.snapshot_done < now.shards) {
    phase = fmt::format("snapshot {}/{} shards", now.snapshot_done, now.shards);
  } else if (now.reconciling != 0) {
    phase = fmt::format("reconciling {}/{} shards", now.reconciling, now.shards);
  } else {
    phase = "streaming";
  }
  return fmt::format("{} | events {} applied {} dirty {} | {} | gaps {}{}", phase,
                     with_commas(now.events), with_commas(now.applied), with_commas(now.dirty),
                     lag_text(window), now.gaps, now.converged ? " | converged" : "");
}

}  // namespace ferry::cli
