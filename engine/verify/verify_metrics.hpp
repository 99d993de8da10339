#pragma once
// A verify's counters as the families of engine/metrics/job_metrics.hpp, read at every scrape:
// `ferry verify`'s whole job, or the inline verifier of `ferry copy --verify`.

#include "engine/metrics/job_metrics.hpp"
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

/// Whose counts they are.
enum class verify_scope {
  job,              ///< `ferry verify`: scans of both sides, estimate, verdicts, repairs
  inline_verifier,  ///< `ferry copy --verify`: verdicts and comparisons of copied keys only
};

/// Adds one scrape's samples of the verify families for `c`. Every verdict kind is added, at 0
/// when none was found, so a rate over it exists from the first scrape. Pure (no I/O).
void add_verify_samples(metrics::scrape& s, const metrics::job_metrics& m, const verify_counts& c,
                        verify_scope scope);

/// Reads `job` into `m`'s families at every scrape of `r` until the handle is destroyed, which
/// must happen before `job` is.
[[nodiscard]] metrics::collector_handle expose_verify(metrics::registry& r,
                                                      const metrics::job_metrics& m,
                                                      const verifier& job);

}  // namespace ferry::engine
