#include "cli/common/metrics_options.hpp"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>

#include "engine/auth/credentials.hpp"

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

namespace ferry::cli {

namespace metrics = engine::metrics;

void add_metrics_options(CLI::App& command, metrics_flags& flags) {
  command
      .add_option("--metrics", flags.listen,
                  "Serve Prometheus metrics at http://ADDR:PORT/metrics and a health check at "
                  "/healthz while the job runs. A port alone listens on 127.0.0.1 only; "
                  "0.0.0.0:PORT (or [::]:PORT) exposes them on purpose. Nothing secret is "
                  "served")
      ->type_name("[ADDR:]PORT")
      ->check(
          [](const std::string& value) -> std::string {
            auto parsed = metrics::parse_listen_address(value);
            return parsed ? std::string{} : parsed.error().message;
          },
          "")
      ->group("Metrics");
  command
      .add_option("--metrics-linger", flags.linger_s,
                  "Keep serving metrics this many seconds after the job ended, so that the last "
                  "scrape sees its final counts (a signal ends it early)")
      ->check(CLI::Range(0.0, 3600.0))
      ->type_name("SECONDS")
      ->capture_default_str()
      ->group("Metrics");
}

job_endpoint::job_endpoint(std::string_view command, const engine::side& source,
                           const engine::side& target, double linger_s)
    : families_(registry_, command, FERRY_VERSION), linger_s_(linger_s) {
  // The logins are kept by the collector, so it never reads a side that went away.
  collectors_.push_back(registry_.add_collector(
      [this, logins = std::pair{source.login, target.login}](metrics::scrape& s) {
        for (const auto& [side, login] :
             {std::pair{"source", logins.first.get()}, std::pair{"target", logins.second.get()}}) {
          if (const auto expires = engine::token_expiry(login)) {
            s.add(families_.token_expiry, {side},
                  static_cast<double>(expires->time_since_epoch().count()));
          }
        }
      }));
}

job_endpoint::~job_endpoint() {
  server_.reset();
  collectors_.clear();
}

boost::system::result<std::unique_ptr<job_endpoint>, std::string> job_endpoint::start(
    const metrics_flags& flags, std::string_view command, const engine::side& source,
    const engine::side& target) {
  if (flags.listen.empty()) return std::unique_ptr<job_endpoint>{};
  auto where = metrics::parse_listen_address(flags.listen);
  if (!where) return where.error().message;
  std::unique_ptr<job_endpoint> endpoint(new job_endpoint(command, source, target, flags.linger_s));
  // The server's thread must not take SIGINT/SIGTERM: the command's signal_watch, made after
  // this, waits for them on its own thread, and a signal the kernel hands to a thread that does
  // not block it ends the process. Threads inherit the mask of the thread that makes them.
  sigset_t stop_signals;
  sigset_t before;
  sigemptyset(&stop_signals);
  for (const int s : {SIGINT, SIGTERM, SIGUSR2}) sigaddset(&stop_signals, s);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &before);
  auto server = metrics::metrics_server::start(*where, endpoint->registry_, endpoint->health_);
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  if (!server) return server.error().message;
  endpoint->server_ = std::move(*server);
  fmt::print(stderr, "ferry {}: metrics at http://{}/metrics\n", command,
             endpoint->server_->where().text());
  return endpoint;
}

void job_endpoint::keep(metrics::collector_handle collector) {
  collectors_.push_back(std::move(collector));
}

void job_endpoint::draining() {
  std::lock_guard lock(mutex_);
  if (!ended_) families_.set_phase(metrics::job_phase::draining);
  stop_lingering_ = true;
  wake_.notify_all();
}

void job_endpoint::ended(metrics::job_phase p, const std::string& reason) {
  std::lock_guard lock(mutex_);
  ended_ = true;
  families_.set_phase(p);
  if (p == metrics::job_phase::failed) health_.fail(reason.empty() ? "the job failed" : reason);
}

void job_endpoint::linger() {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, std::chrono::duration<double>(linger_s_),
                 [this] { return stop_lingering_; });
}

}  // namespace ferry::cli
