#include "engine/verify/verify_metrics.hpp"

#include <string>
#include <utility>

namespace ferry::engine {

void add_verify_samples(metrics::scrape& s, const metrics::job_metrics& m, const verify_counts& c,
                        verify_scope scope) {
  const auto n = [&c](verify_counter counter) { return static_cast<double>(c[counter]); };
  static constexpr std::pair<verify_counter, const char*> kinds[] = {
      {verify_counter::equal, "equal"},       {verify_counter::missing, "missing"},
      {verify_counter::value, "value"},       {verify_counter::type, "type"},
      {verify_counter::expiry, "expiry"},     {verify_counter::changed, "changed"},
      {verify_counter::vanished, "vanished"}, {verify_counter::extra, "extra"},
  };
  for (const auto& [counter, kind] : kinds) {
    // The inline verifier never scans the target, so it finds no extra key.
    if (scope == verify_scope::inline_verifier && counter == verify_counter::extra) continue;
    s.add(m.verify_keys, {kind}, n(counter));
  }
  s.add(m.verify_checked, {}, n(verify_counter::checked));
  s.add(m.verify_deep, {}, n(verify_counter::deep));
  s.add(m.verify_rechecks, {}, n(verify_counter::rechecked));
  if (scope == verify_scope::inline_verifier) return;
  s.add(m.verify_scanned, {"source"}, n(verify_counter::scanned));
  s.add(m.verify_scanned, {"target"}, n(verify_counter::target_scanned));
  s.add(m.verify_estimated, {}, n(verify_counter::estimated));
  s.add(m.verify_repairs, {"repaired"}, n(verify_counter::repaired));
  s.add(m.verify_repairs, {"failed"}, n(verify_counter::repair_failed));
}

metrics::collector_handle expose_verify(metrics::registry& r, const metrics::job_metrics& m,
                                        const verifier& job) {
  return r.add_collector([&m, &job](metrics::scrape& s) {
    add_verify_samples(s, m, job.progress(), verify_scope::job);
  });
}

}  // namespace ferry::engine
