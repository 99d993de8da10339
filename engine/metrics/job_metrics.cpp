#include "engine/metrics/job_metrics.hpp"

#include <chrono>

#include "engine/metrics/process_metrics.hpp"

namespace ferry::engine::metrics {

std::string_view phase_name(job_phase p) noexcept {
  switch (p) {
    case job_phase::starting:
      return "starting";
    case job_phase::running:
      return "running";
    case job_phase::draining:
      return "draining";
    case job_phase::complete:
      return "complete";
    case job_phase::incomplete:
      return "incomplete";
    case job_phase::interrupted:
      return "interrupted";
    case job_phase::failed:
      return "failed";
    case job_phase::count_:
      break;
  }
  return "unknown";
}

std::string_view phase_name(sync_phase p) noexcept {
  switch (p) {
    case sync_phase::snapshot:
      return "snapshot";
    case sync_phase::streaming:
      return "streaming";
    case sync_phase::reconciling:
      return "reconciling";
    case sync_phase::count_:
      break;
  }
  return "unknown";
}

double unix_now() noexcept {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

job_metrics::job_metrics(registry& r, std::string_view command, std::string_view version)
    : job_info(r.add_gauge(families::job_info)),
      job_start(r.add_gauge(families::job_start)),
      checkpoint_time(r.add_gauge(families::checkpoint_time)),
      keys_scanned(r.add_counter(families::keys_scanned)),
      keys_copied(r.add_counter(families::keys_copied)),
      keys_vanished(r.add_counter(families::keys_vanished)),
      keys_skipped(r.add_counter(families::keys_skipped)),
      keys_failed(r.add_counter(families::keys_failed)),
      keys_rescanned(r.add_counter(families::keys_rescanned)),
      keys_estimated(r.add_gauge(families::keys_estimated)),
      payload_bytes(r.add_counter(families::payload_bytes)),
      shard_complete(r.add_gauge(families::shard_complete)),
      retries(r.add_counter(families::retries)),
      reconnects(r.add_counter(families::reconnects)),
      inflight_bytes(r.add_gauge(families::inflight_bytes)),
      inflight_budget(r.add_gauge(families::inflight_budget)),
      read_batch_duration(r.add_histogram(families::read_batch_duration)),
      write_batch_duration(r.add_histogram(families::write_batch_duration)),
      verify_scanned(r.add_counter(families::verify_scanned)),
      verify_checked(r.add_counter(families::verify_checked)),
      verify_keys(r.add_counter(families::verify_keys)),
      verify_estimated(r.add_gauge(families::verify_estimated)),
      verify_deep(r.add_counter(families::verify_deep)),
      verify_rechecks(r.add_counter(families::verify_rechecks)),
      verify_repairs(r.add_counter(families::verify_repairs)),
      sync_events(r.add_counter(families::sync_events)),
      sync_applied(r.add_counter(families::sync_applied)),
      sync_dirty_keys(r.add_gauge(families::sync_dirty_keys)),
      sync_dirty_bytes(r.add_gauge(families::sync_dirty_bytes)),
      sync_lag(r.add_histogram(families::sync_lag)),
      sync_phase_flags(r.add_gauge(families::sync_phase)),
      sync_gaps(r.add_counter(families::sync_gaps)),
      sync_converged(r.add_gauge(families::sync_converged)),
      token_expiry(r.add_gauge(families::token_expiry)) {
  job_info.with({std::string(command), std::string(version)}).set(1);
  job_start.get().set(unix_now());
  // The phase is one atomic read at scrape time, so a scrape never sees two phases at 1.
  const auto& phases = r.add_gauge(families::job_phase);
  phases_ = r.add_collector([this, &phases](scrape& s) {
    const job_phase now = phase();
    for (std::size_t i = 0; i < static_cast<std::size_t>(job_phase::count_); ++i) {
      const auto p = static_cast<job_phase>(i);
      s.add(phases, {std::string(phase_name(p))}, p == now ? 1 : 0);
    }
  });
  process_ = add_process_metrics(r);
}

void job_metrics::set_sync_phase(const std::string& shard, sync_phase p) {
  // Others first: a scrape in between sees no phase at 1 rather than two.
  for (std::size_t i = 0; i < static_cast<std::size_t>(sync_phase::count_); ++i) {
    const auto other = static_cast<sync_phase>(i);
    if (other != p) sync_phase_flags.with({shard, std::string(phase_name(other))}).set(0);
  }
  sync_phase_flags.with({shard, std::string(phase_name(p))}).set(1);
}

}  // namespace ferry::engine::metrics
