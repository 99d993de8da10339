#include "cli/verify/verify_report.hpp"

#include <fmt/format.h>

#include "cli/common/progress.hpp"

namespace ferry::cli {
namespace {

using engine::verify_counter;

const char* verify_status_name(engine::verify_status status) {
  switch (status) {
    case engine::verify_status::equal:
      return "equal";
    case engine::verify_status::differences:
      return "differences";
    case engine::verify_status::interrupted:
      return "interrupted";
    case engine::verify_status::fatal:
      return "failed";
  }
  return "unknown";
}

/// Counter names as they appear in the JSON report.
constexpr std::pair<verify_counter, const char*> counter_names[] = {
    {verify_counter::scanned, "scanned"},
    {verify_counter::checked, "checked"},
    {verify_counter::equal, "equal"},
    {verify_counter::missing, "missing"},
    {verify_counter::value, "value"},
    {verify_counter::type, "type"},
    {verify_counter::expiry, "expiry"},
    {verify_counter::changed, "changed"},
    {verify_counter::vanished, "vanished"},
    {verify_counter::extra, "extra"},
    {verify_counter::target_scanned, "target_scanned"},
    {verify_counter::deep, "deep"},
    {verify_counter::rechecked, "rechecked"},
    {verify_counter::repaired, "repaired"},
    {verify_counter::repair_failed, "repair_failed"},
    {verify_counter::estimated, "estimated"},
};

const char* extra_pass_name(engine::extra_pass pass) {
  switch (pass) {
    case engine::extra_pass::off:
      return "off";
    case engine::extra_pass::ran:
      return "ran";
    case engine::extra_pass::proven:
      return "proven_unnecessary";
    case engine::extra_pass::not_run:
      return "not_run";
  }
  return "ran";
}

}  // namespace

nlohmann::json verify_report_json(const engine::verify_report& report, const std::string& mode) {
  nlohmann::json totals;
  for (const auto& [counter, name] : counter_names) totals[name] = report.totals[counter];
  totals["differences"] = report.totals.differences();
  totals["duration_s"] = report.duration_s;
  nlohmann::json json{{"status", verify_status_name(report.status)},
                      {"source", report.source},
                      {"target", report.target},
                      {"mode", mode},
                      {"threads", report.threads},
                      {"shards", report.shards},
                      {"totals", std::move(totals)},
                      {"warnings", report.warnings}};
  json["extra_keys"] = {{"pass", extra_pass_name(report.extra)},
                        {"why", report.extra_why},
                        {"scanned_beside_comparison", report.extra_early}};
  if (report.failure) json["error"] = report.failure->message;
  return json;
}

std::string verify_summary_text(const engine::verify_report& report, const std::string& mode,
                                bool repair) {
  const auto& t = report.totals;
  const auto n = [&](verify_counter c) { return with_commas(t[c]); };
  const char* verdict = "";
  switch (report.status) {
    case engine::verify_status::equal:
      verdict = repair && t[verify_counter::repaired] != 0
                    ? "the target now equals the source (after repairs)"
                    : "the target equals the source";
      break;
    case engine::verify_status::differences:
      verdict = "DIFFERENCES FOUND";
      break;
    case engine::verify_status::interrupted:
      verdict = "interrupted, not every key compared";
      break;
    case engine::verify_status::fatal:
      verdict = "could not complete";
      break;
  }
  const double seconds = std::max(report.duration_s, 1e-9);
  std::string text = fmt::format(
      "ferry verify ({} mode): {}\n"
      "  source {}\n  target {}\n"
      "  checked {}  equal {}  missing {}  different value {}  different type {}  "
      "different expiry {}  changed {}  extra {}\n"
      "  vanished during the check {}  compared element by element {}  compared again {}  "
      "target keys looked up {}\n",
      mode, verdict, report.source, report.target, n(verify_counter::checked),
      n(verify_counter::equal), n(verify_counter::missing), n(verify_counter::value),
      n(verify_counter::type), n(verify_counter::expiry), n(verify_counter::changed),
      n(verify_counter::extra), n(verify_counter::vanished), n(verify_counter::deep),
      n(verify_counter::rechecked), n(verify_counter::target_scanned));
  switch (report.extra) {
    case engine::extra_pass::off:
      text += "  extra keys: not looked for (--no-extra)\n";
      break;
    case engine::extra_pass::ran:
      text += fmt::format("  extra keys: target scanned{} and looked up on the source{}\n",
                          report.extra_early ? " beside the comparison" : "",
                          report.extra_why.empty() ? "" : " (" + report.extra_why + ")");
      break;
    case engine::extra_pass::proven:
      text += fmt::format("  extra keys: none, proven {} ({})\n",
                          report.extra_early ? "by the count (the target's scan begun beside the "
                                               "comparison was dropped)"
                                             : "without a target scan",
                          report.extra_why);
      break;
    case engine::extra_pass::not_run:
      text += "  extra keys: not looked for (the job ended first)\n";
      break;
  }
  if (repair) {
    text += fmt::format("  repaired {}  could not repair {}\n", n(verify_counter::repaired),
                        n(verify_counter::repair_failed));
  }
  text += fmt::format("  {:.2f} s ({:.0f} keys/s), {} source shard(s) on {} thread(s)\n",
                      report.duration_s, static_cast<double>(t.settled()) / seconds, report.shards,
                      report.threads);
  return text;
}

}  // namespace ferry::cli
