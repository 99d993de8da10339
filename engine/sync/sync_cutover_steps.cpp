// The cut-over's steps (--cutover, or SIGUSR1): once the shards have caught up to within a few
// keys, pause the source's writes, wait for the replicas ferry reads and for a fence through
// every subscriber, drain what is left (a stream sweep after the pause included), optionally
// compare a sample, and say when the application may switch; or unpause and say why.

#include <fmt/format.h>

#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/wall_clock.hpp"
#include "engine/sync/key_match.hpp"
#include "engine/sync/sync_extension.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

using clock = std::chrono::steady_clock;

namespace {

/// Dirty keys per shard below which a cut-over may pause the source: what the drain re-copies
/// within the pause.
constexpr std::uint64_t cutover_dirty_keys = 2'000;

}  // namespace

bool sync_extension::ready_for_cutover() const {
  if (!handoffs_.empty()) return false;
  std::lock_guard lock(stats_mutex_);
  if (stats_.empty()) return false;
  for (const auto& s : stats_) {
    // Keys a drain of a second or two re-copies (a few thousand per shard at worst). A stream
    // sweep does not hold the pause back: while consumers XACK without a break, one is always
    // due (a slow sweep would never let the cut-over begin); the drain waits for the sweep that
    // follows the pause instead.
    const shard_convergence c{s->snapshot_done, s->subscribed, s->reconciling, 0};
    if (!c.converged() || s->dirty_keys > cutover_dirty_keys) return false;
  }
  return true;
}

void sync_extension::fail_cutover(std::string why) {
  for (auto& w : cutover_->unpause()) warnings_.push_back(std::move(w));
  cutover_report_->failure = why;
  if (config_.cutover) {
    outcome_ = outcome::cutover_failed;
    control_->drain();
    return;
  }
  // Asked for by SIGUSR1: the sync goes on, and another signal tries again.
  warnings_.push_back(
      fmt::format("the cut-over asked for by SIGUSR1 did not complete: {}; the "
                  "source was unpaused and the sync went on",
                  why));
  step_ = cutover_step::idle;
  cutover_requested_ = false;
  settle_ = settle_clock(config_.settle);
}

void sync_extension::advance_cutover(bool settled) {
  const auto now = clock::now();
  switch (step_) {
    case cutover_step::idle: {
      if (!settled) return;
      cutover_report_ = cutover_report{};
      if (auto paused = cutover_->pause(config_.pause_timeout); !paused) {
        control_->fail(paused.error());
        return;
      }
      cutover_report_->paused_at_ms = unix_ms();
      {
        std::lock_guard lock(stats_mutex_);
        samples_at_pause_.clear();
        for (const auto& s : stats_) samples_at_pause_.push_back(s->samples);
      }
      cutover_report_->paused_until_ms =
          cutover_report_->paused_at_ms + config_.pause_timeout.count();
      // Leave a tenth of the pause to unpause and say why, should the drain not finish.
      pause_deadline_ = now + config_.pause_timeout - config_.pause_timeout / 10;
      step_ = cutover_step::catching_up;
      [[fallthrough]];
    }
    case cutover_step::catching_up: {
      if (now >= pause_deadline_) {
        fail_cutover(
            "the replicas ferry reads did not catch up with their masters within "
            "--pause-timeout");
        return;
      }
      auto caught = cutover_->replicas_caught_up();
      if (!caught) {
        fail_cutover(caught.error().message);
        return;
      }
      if (!*caught) return;
      // A fence per subscriber: its pong comes after every event published before the pause.
      fence_token_ = next_token_++;
      for (auto& shard : shards_) {
        shard->post([token = fence_token_](sync_shard& s) { s.fence(token); });
      }
      step_ = cutover_step::draining;
      return;
    }
    case cutover_step::draining: {
      std::string pending;
      {
        std::lock_guard lock(stats_mutex_);
        for (std::size_t i = 0; i < stats_.size(); ++i) {
          const auto& s = *stats_[i];
          if (s.samples < samples_at_pause_[i] + 2) {
            pending = fmt::format("shard {} did not look at its command counts since the pause",
                                  sources_[i]);
          } else if (s.fenced < fence_token_ || !s.subscribed) {
            pending =
                fmt::format("the subscriber of shard {} did not answer its fence", sources_[i]);
          } else if (s.reconciling) {
            pending = fmt::format("shard {} was still reconciling", sources_[i]);
          } else if (s.sweeping) {
            pending = fmt::format("shard {} was still comparing its streams' consumer groups",
                                  sources_[i]);
          } else if (s.dirty_keys != 0) {
            pending = fmt::format("shard {} still had {} key(s) to re-copy", sources_[i],
                                  s.dirty_keys.load());
          }
          if (!pending.empty()) break;
        }
      }
      if (!pending.empty()) {
        if (now >= pause_deadline_) {
          fail_cutover(fmt::format("the drain did not finish within --pause-timeout ({} ms): {}",
                                   config_.pause_timeout.count(), pending));
        }
        return;
      }
      if (config_.cutover_verify_keys > 0) {
        const std::string& match = config_.copy.match;
        const auto range = config_.copy.slots;
        const auto in_scope = [&match, range](std::string_view key) {
          if (is_reserved_key(key)) return false;
          if (range && !range->contains(protocol::key_slot(key))) return false;
          return match.empty() || glob_match(match, key);
        };
        auto sample = cutover_->compare_sample(config_.cutover_verify_keys, in_scope);
        if (!sample) {
          fail_cutover(sample.error().message);
          return;
        }
        cutover_report_->verified = sample->compared;
        cutover_report_->differences = sample->differing;
        if (sample->differing != 0) {
          fail_cutover(
              fmt::format("the final comparison found {} of {} sampled keys different "
                          "(first: {}); run `ferry verify --repair`",
                          sample->differing, sample->compared, sample->first));
          return;
        }
      }
      cutover_report_->switch_at_ms = unix_ms();
      step_ = cutover_step::done;
      outcome_ = outcome::cut_over;
      control_->drain();
      return;
    }
    case cutover_step::done:
      return;
  }
}

}  // namespace ferry::engine
