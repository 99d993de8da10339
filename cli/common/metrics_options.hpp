#pragma once
// --metrics and --metrics-linger, which every long-running command offers, and the endpoint of
// one job. A command adds the options, starts the endpoint before its job runs, hands it the
// job's collector, and tells it how the job ended:
//
//   add_metrics_options(*command, flags->metrics);                   // when adding the command
//   ...
//   engine::copy_job job(config);                                    // built first: it outlives
//   auto endpoint = job_endpoint::start(flags.metrics, "copy",       // the endpoint, whose
//                                       config.source, config.target);  // collectors read it
//   if (!endpoint) { print endpoint.error(); return exit_failed; }
//   job_endpoint* metrics = endpoint->get();                         // null without --metrics
//   if (metrics) metrics->keep(engine::expose_copy(metrics->registry(), metrics->families(),
//                                                  job));
//   signal_watch signals([&] { job.drain(); if (metrics) metrics->draining(); }, ...);
//   const linger_at_exit linger(metrics);          // after the signal watch: every return
//                                                  // lingers, and a signal still ends it
//   if (metrics) metrics->set_phase(job_phase::running);
//   report = job.run();
//   if (metrics) metrics->ended(phase, failure_message);
//
// The endpoint serves ferry_job_info, the phase, the start time, the process metrics and the
// sides' token expiry itself; the job's collector adds the rest. /healthz fails once ended()
// says the job failed, or while a probe given to health().watch() reports a problem.

#include <CLI/CLI.hpp>
#include <boost/system/result.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/metrics/health.hpp"
#include "engine/metrics/http_server.hpp"
#include "engine/metrics/job_metrics.hpp"
#include "engine/metrics/registry.hpp"
#include "engine/runtime/settings.hpp"

namespace ferry::cli {

/// The options as given.
struct metrics_flags {
  /// --metrics: "9121", "0.0.0.0:9121", "[::1]:9121"; empty for no endpoint.
  std::string listen;
  /// --metrics-linger: seconds the endpoint stays up after the job ended.
  double linger_s = 0;
};

/// Adds --metrics and --metrics-linger to `command` (in a "Metrics" group).
void add_metrics_options(CLI::App& command, metrics_flags& flags);

/// See the file comment.
class job_endpoint {
 public:
  /// Starts serving when --metrics was given (nullptr when not). The error names the address
  /// and what to do (the port is taken, the address is not this machine's). `command` is the
  /// subcommand's name ("copy"); the sides' logins give the token expiry. Prints where it
  /// listens on stderr.
  static boost::system::result<std::unique_ptr<job_endpoint>, std::string> start(
      const metrics_flags& flags, std::string_view command, const engine::side& source,
      const engine::side& target);
  /// Stops serving (the collectors it keeps go after the server stopped).
  ~job_endpoint();
  job_endpoint(const job_endpoint&) = delete;
  job_endpoint& operator=(const job_endpoint&) = delete;

  /// The registry the job's collector is added to.
  engine::metrics::registry& registry() noexcept { return registry_; }
  /// ferry's families.
  engine::metrics::job_metrics& families() noexcept { return families_; }
  /// What /healthz says.
  engine::metrics::health& health() noexcept { return health_; }
  /// Keeps `collector` registered as long as the endpoint serves.
  void keep(engine::metrics::collector_handle collector);
  /// Where it listens (the port the system chose for port 0).
  const engine::metrics::listen_address& where() const noexcept { return server_->where(); }

  /// Enters phase `p`.
  void set_phase(engine::metrics::job_phase p) noexcept { families_.set_phase(p); }
  /// SIGINT/SIGTERM: phase `draining` while the job still runs, and no lingering once it ended.
  /// Safe from any thread.
  void draining();
  /// The job ended in phase `p`; for `failed`, /healthz fails from now on with `reason`.
  void ended(engine::metrics::job_phase p, const std::string& reason = {});
  /// Serves on for --metrics-linger seconds, so that a scrape sees the final values, unless
  /// draining() cuts it short.
  void linger();

 private:
  job_endpoint(std::string_view command, const engine::side& source, const engine::side& target,
               double linger_s);

  engine::metrics::registry registry_;
  engine::metrics::job_metrics families_;
  engine::metrics::health health_;
  std::vector<engine::metrics::collector_handle> collectors_;
  double linger_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool ended_ = false;
  bool stop_lingering_ = false;
  // Last: destroyed first, so nothing is served while the collectors go.
  std::unique_ptr<engine::metrics::metrics_server> server_;
};

/// Calls `endpoint->linger()` when it goes out of scope (at every return of a command); does
/// nothing for a null endpoint.
class linger_at_exit {
 public:
  /// Lingers `endpoint` (may be null) at the end of the scope.
  explicit linger_at_exit(job_endpoint* endpoint) : endpoint_(endpoint) {}
  ~linger_at_exit() {
    if (endpoint_ != nullptr) endpoint_->linger();
  }
  linger_at_exit(const linger_at_exit&) = delete;
  linger_at_exit& operator=(const linger_at_exit&) = delete;

 private:
  job_endpoint* endpoint_;
};

}  // namespace ferry::cli
