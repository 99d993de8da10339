#pragma once
// What GET /healthz says: "ok" while the job runs, or why it does not.
//
// Thread: every method is safe from any thread.

#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace ferry::engine::metrics {

/// See the file comment.
class health {
 public:
  /// Reads a problem from elsewhere (e.g. a job_control's failure) at every check; nullopt
  /// while all is well. Runs on the metrics server's thread.
  using probe = std::function<std::optional<std::string>()>;

  /// Records that the job failed, with a reason a person can act on (never a secret: ferry's
  /// failure messages hold none). The first reason wins.
  void fail(std::string reason) {
    std::lock_guard lock(mutex_);
    if (!reason_) reason_ = std::move(reason);
  }
  /// Also asks `p` at every check (replaces an earlier probe).
  void watch(probe p) {
    std::lock_guard lock(mutex_);
    probe_ = std::move(p);
  }
  /// The reason the job is unhealthy, or nullopt while it is healthy.
  std::optional<std::string> problem() const {
    std::lock_guard lock(mutex_);
    if (reason_) return reason_;
    return probe_ ? probe_() : std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::optional<std::string> reason_;
  probe probe_;
};

}  // namespace ferry::engine::metrics
