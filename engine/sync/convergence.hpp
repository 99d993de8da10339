#pragma once
// When `ferry sync` may say the target has caught up. A shard is converged when its snapshot is
// done, no reconcile is pending or running, every subscriber holds its subscription and its dirty
// set is empty (nothing waiting, nothing in flight). The job is converged when every shard is;
// `--until-converged` ends the job the first time it has been converged, without a break, for
// `--settle`. Pure.

#include <chrono>
#include <optional>

namespace ferry::engine {

/// What convergence is judged on, per shard.
struct shard_convergence {
  /// The shard's snapshot is on the target.
  bool snapshot_done = false;
  /// Every subscriber of the shard is subscribed.
  bool subscribed = false;
  /// A reconcile is pending or running.
  bool reconciling = false;
  /// Keys dirty or in flight.
  std::size_t dirty = 0;

  /// True when this shard has caught up.
  bool converged() const noexcept {
    return snapshot_done && subscribed && !reconciling && dirty == 0;
  }
};

/// Tracks how long the job has been converged without a break.
class settle_clock {
 public:
  using clock = std::chrono::steady_clock;

  /// Ends once the job has been converged for `settle`.
  explicit settle_clock(std::chrono::milliseconds settle) : settle_(settle) {}

  /// Observes the job at `now`; true once it has been converged since at least `settle` ago.
  bool observe(bool converged, clock::time_point now) noexcept {
    if (!converged) {
      since_.reset();
      return false;
    }
    if (!since_) since_ = now;
    return now - *since_ >= settle_;
  }
  /// When the current converged stretch began (nothing when not converged).
  std::optional<clock::time_point> since() const noexcept { return since_; }

 private:
  std::chrono::milliseconds settle_;
  std::optional<clock::time_point> since_;
};

}  // namespace ferry::engine
