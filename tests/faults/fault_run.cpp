#include "tests/faults/fault_run.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <deque>
#include <thread>

#include "tests/faults/fault_world.hpp"
#include "tests/faults/injector.hpp"
#include "tests/faults/judge.hpp"
#include "tests/support/ferry_process.hpp"

namespace ferry::testing::faults {
namespace {

using namespace std::chrono_literals;

/// The first `ferry copy` and up to four continuations (a run may be stopped by several faults).
constexpr int max_copy_runs = 5;
/// Far beyond any healthy copy here (a few seconds, plus --max-retry-time): ferry hangs.
constexpr auto copy_timeout = 150s;
/// Bound on waiting for a fault's moment (a copy that stalls without ending).
constexpr auto moment_timeout = 90s;
/// What ferry_process::wait adds to stderr when it had to kill ferry.
constexpr std::string_view harness_killed = "[test harness: ferry did not finish in time";

class run_driver {
 public:
  explicit run_driver(const run_plan& plan) : plan_(plan), world_(plan) { report_.plan = plan; }

  run_report go() {
    const auto started = std::chrono::steady_clock::now();
    log(describe(plan_));
    log(fmt::format("  source {} keys ({}), target {}", world_.source_keys(),
                    world_.addresses().front(), world_.target_url()));
    std::deque<fault_step> pending(plan_.faults.begin(), plan_.faults.end());
    bool ended = false;
    for (int n = 0; n < max_copy_runs && !ended && report_.findings.empty(); ++n) {
      ended = copy_once(n, pending);
      world_.free_disk();
    }
    if (!ended && report_.findings.empty()) {
      finding(fmt::format("no `ferry copy` of {} ended with exit code 0 or 1", max_copy_runs));
    }
    if (report_.findings.empty()) {
      // The outcome was set by the end; nothing broke on the way.
    } else {
      report_.outcome = run_outcome::violation;
    }
    report_.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return std::move(report_);
  }

 private:
  std::vector<std::string> copy_args(int n) const {
    const bool have_state = std::filesystem::exists(world_.path_of(output_file::state));
    std::vector<std::string> args{
        "copy", "--source", world_.source().url(), "--target", world_.target_url(), "--state",
        world_.path_of(output_file::state).string(), "--report",
        world_.path_of(output_file::report).string(), "--failed-keys",
        world_.path_of(output_file::failed_keys).string(), "--progress", "never",
        "--checkpoint-interval", fmt::format("{}", plan_.checkpoint_interval), "--max-keys-per-sec",
        std::to_string(plan_.keys_per_sec), "--threads", std::to_string(plan_.threads),
        // Short enough that stalls become timeouts and reconnects,
        // long enough for a loaded 2-core machine.
        "--timeout", "2000", "--connect-timeout", "2000", "--max-retry-time", "30"};
    if (plan_.verify_sample == 1) {
      args.insert(args.end(), {"--verify", "--diff", world_.diff_path().string()});
    } else if (plan_.verify_sample > 0) {
      args.insert(args.end(), {"--verify-sample", fmt::format("{}", plan_.verify_sample), "--diff",
                               world_.diff_path().string()});
    }
    if (plan_.recopy) args.insert(args.end(), {"--on-target-loss", "recopy"});
    if (plan_.existing != 0) {
      args.insert(args.end(), {"--on-existing", "fail"});
    } else if (n > 0 && !have_state) {
      // Stopped before its first state file: a new job onto what the first one wrote.
      args.insert(args.end(), {"--on-existing", "replace"});
    }
    if (n > 0 && have_state) args.push_back("--resume");
    return args;
  }

  /// Waits until `at` of the source's keys are on the target; false when ferry ended first.
  bool wait_for(double at, ferry_process& ferry) {
    const auto goal = static_cast<std::uint64_t>(at * static_cast<double>(world_.source_keys()));
    const auto deadline = std::chrono::steady_clock::now() + moment_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!ferry.running()) return false;
      if (auto size = world_.target_dbsize()) {
        const std::uint64_t before = world_.existing().size();
        if (*size >= before && *size - before >= goal) return true;
      }
      std::this_thread::sleep_for(15ms);
    }
    return ferry.running();
  }

  /// One `ferry copy` with the faults whose moment comes while it runs. True when it ended the
  /// job (exit 0 or 1, judged); false when it stopped and the next run continues.
  bool copy_once(int n, std::deque<fault_step>& pending) {
    const auto args = copy_args(n);
    const bool resume = std::find(args.begin(), args.end(), "--resume") != args.end();
    ferry_process ferry(args, world_.dir(), {}, ferry_limits{world_.file_size_limit()});
    bool interrupted = false;
    bool killed = false;
    std::vector<fault_kind> hit;
    while (!pending.empty()) {
      if (!wait_for(pending.front().at, ferry)) break;
      const fault_step step = pending.front();
      pending.pop_front();
      const std::string done = inject(step, world_, ferry);
      report_.injected.push_back(done);
      report_.kinds.push_back(step.kind);
      hit.push_back(step.kind);
      interrupted = interrupted || step.kind == fault_kind::ferry_interrupt;
      killed = killed || step.kind == fault_kind::ferry_kill;
      log(fmt::format("  fault {} -> {}", describe(step), done));
    }
    const ferry_result r = ferry.wait(copy_timeout);
    const std::string name = resume ? "ferry copy --resume" : "ferry copy";
    report_.exits.push_back(fmt::format("{}: {}", name, r.exit_code));
    log(fmt::format("  {} ended with exit code {} after {:.1f} s; stdout:\n{}  stderr:\n{}", name,
                    r.exit_code, r.seconds, tail(r.out, 4), tail(r.err)));
    outputs_ += r.out + r.err;
    if (r.err.find(harness_killed) != std::string::npos) {
      finding(fmt::format("{} hung: no exit within {} s", name, copy_timeout.count()));
      return false;
    }
    world_.settle();
    switch (r.exit_code) {
      case 0:
      case 1:
        judge_end(r);
        return true;
      case 2: {
        if (report_.kinds.empty()) finding(fmt::format("{} failed (exit 2) with no fault", name));
        const bool stalls_only = !hit.empty() && std::all_of(hit.begin(), hit.end(), survivable);
        if (stalls_only) {
          finding(
              fmt::format("{} gave up (exit 2) after faults it should survive (a stall or "
                          "dropped connections well inside --max-retry-time)",
                          name));
        }
        if (const auto lack = unhelpful(r.err, places()); !lack.empty()) {
          finding(fmt::format("{} stopped with exit code 2 and a message that {}", name, lack));
        }
        return false;
      }
      case 3:
        if (!interrupted) finding(fmt::format("{} exited 3 (interrupted) with no SIGINT", name));
        if (r.err.find("--resume") == std::string::npos) {
          finding(fmt::format("{} was interrupted and does not say --resume", name));
        }
        return false;
      case 128 + SIGKILL:
        if (!killed) finding(fmt::format("{} died of a SIGKILL the suite did not send", name));
        return false;
      default:
        finding(fmt::format("{} ended with exit code {} (a crash?)", name, r.exit_code));
        return false;
    }
  }

  /// A job's last run ended with exit 0 or 1: is that true?
  void judge_end(const ferry_result& r) {
    std::size_t marks = 0;
    const keyspace source = world_.dump_source();
    const keyspace target = world_.dump_target(marks);
    const key_differences diff = compare(source, target);
    const bool more_than_one = report_.exits.size() > 1;
    if (r.exit_code == 0) {
      if (marks != 0)
        finding(fmt::format("exit 0 but {} of ferry's marks stay on the target", marks));
      if (diff.none()) {
        report_.outcome = more_than_one ? run_outcome::recovered : run_outcome::exact;
        if (plan_.verify_sample == 0) expect_verify(0, "an exact copy");
        return;
      }
      if (source_lost() && diff.missing.empty() && diff.different.empty()) {
        // Keys the source lost in its restart stay on the target; ferry must have said so.
        if (!said_source_restarted()) {
          finding(
              fmt::format("exit 0 after the source restarted empty, and no run said so: the "
                          "target holds {} keys the source no longer has",
                          diff.extra.size()));
          return;
        }
        repair();
        return;
      }
      finding(fmt::format("exit 0 over a difference: {}", diff.summary()));
      expect_verify(1, "the difference");
      return;
    }
    // Exit 1: every key that differs must be listed where ferry says.
    std::size_t broken = 0;
    const auto listed =
        listed_keys({world_.path_of(output_file::failed_keys), world_.diff_path()}, broken);
    std::size_t unlisted = 0;
    std::string example;
    for (const auto& key : diff.all()) {
      if (listed.count(key) != 0 || diff.extra.count(key) != 0) continue;
      if (unlisted++ == 0) example = printable(key);
    }
    if (unlisted != 0) {
      finding(
          fmt::format("exit 1 but {} differing key(s) are not listed in the failed-keys or "
                      "diff file (e.g. {}; {}; {} listed)",
                      unlisted, example, diff.summary(), listed.size()));
      return;
    }
    if (listed.empty()) {
      finding(fmt::format("exit 1 over {} with nothing listed", diff.summary()));
      return;
    }
    report_.outcome = run_outcome::keys_listed;
  }

  /// `ferry verify` must agree with the oracle.
  void expect_verify(int expected, const char* over) {
    const ferry_result v =
        run_ferry({"verify", "--source", world_.source().url(), "--target", world_.target_url(),
                   "--progress", "never", "--diff", (world_.dir() / "verify-diff.jsonl").string()},
                  120s);
    report_.exits.push_back(fmt::format("ferry verify: {}", v.exit_code));
    log(fmt::format("  ferry verify ended with exit code {}:\n{}", v.exit_code, tail(v.err, 4)));
    if (v.exit_code != expected) {
      finding(
          fmt::format("ferry verify exited {} over {} (expected {})", v.exit_code, over, expected));
    }
  }

  /// The source lost keys: `ferry verify` must see them, `--repair --repair-delete-extra` must
  /// make the target exact.
  void repair() {
    expect_verify(1, "keys the source lost");
    const ferry_result v =
        run_ferry({"verify", "--source", world_.source().url(), "--target", world_.target_url(),
                   "--progress", "never", "--repair", "--repair-delete-extra"},
                  120s);
    report_.exits.push_back(fmt::format("ferry verify --repair: {}", v.exit_code));
    log(fmt::format("  ferry verify --repair ended with exit code {}:\n{}", v.exit_code,
                    tail(v.err, 4)));
    std::size_t marks = 0;
    const key_differences diff = compare(world_.dump_source(), world_.dump_target(marks));
    if (!diff.none()) {
      finding(fmt::format("ferry verify --repair (exit {}) left {}", v.exit_code, diff.summary()));
      return;
    }
    report_.outcome = run_outcome::repaired;
  }

  bool source_lost() const {
    return std::find(report_.kinds.begin(), report_.kinds.end(),
                     fault_kind::source_restart_empty) != report_.kinds.end();
  }

  bool said_source_restarted() const {
    return outputs_.find("restarted") != std::string::npos &&
           outputs_.find(world_.addresses().front()) != std::string::npos;
  }

  std::vector<std::string> places() const {
    std::vector<std::string> all = world_.addresses();
    for (const auto file : {output_file::state, output_file::report, output_file::failed_keys}) {
      all.push_back(world_.path_of(file).string());
    }
    all.push_back(world_.diff_path().string());
    return all;
  }

  void finding(std::string what) {
    log("  FINDING: " + what);
    report_.findings.push_back(std::move(what));
  }

  void log(const std::string& line) { report_.log += line + "\n"; }

  const run_plan& plan_;
  fault_world world_;
  run_report report_;
  std::string outputs_;  // everything every ferry run printed
};

}  // namespace

const char* name_of(run_outcome outcome) {
  switch (outcome) {
    case run_outcome::exact:
      return "exact";
    case run_outcome::recovered:
      return "recovered";
    case run_outcome::keys_listed:
      return "keys_listed";
    case run_outcome::repaired:
      return "repaired";
    case run_outcome::violation:
      return "violation";
  }
  return "?";
}

run_report run_plan_once(const run_plan& plan) { return run_driver(plan).go(); }

}  // namespace ferry::testing::faults
