#pragma once
// What `ferry sync` adds to the copy (copy_extension.hpp), on the job's calling thread: it
// checks the source's notifications before anything is written, makes a sync_shard per copy
// shard, lets each shard's scan begin once its subscriber is on, follows the source cluster
// (failovers, resharding), decides when the job has converged and runs the cut-over, and keeps
// its state in the state file. sync_job.cpp wires it to copy_job.
//
// Thread: the job's calling thread, except before_scan() and beside() (the shards' threads).

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/copy/copy_extension.hpp"
#include "engine/sync/convergence.hpp"
#include "engine/sync/cutover.hpp"
#include "engine/sync/notifications.hpp"
#include "engine/sync/sync_job.hpp"
#include "engine/sync/sync_shard.hpp"
#include "engine/sync/topology_follow.hpp"

namespace ferry::engine {

/// See the file comment.
class sync_extension final : public copy_extension {
 public:
  /// The extension of the job `config` describes.
  explicit sync_extension(const sync_config& config);
  ~sync_extension() override;

  maybe<void> prepare(const copy_plan& plan, const checkpoint* previous,
                      job_control& control) override;
  boost::asio::awaitable<bool> before_scan(shard_context& shard) override;
  boost::asio::awaitable<void> beside(shard_context& shard) override;
  void tick() override;
  std::chrono::milliseconds tick_interval() const override {
    return std::chrono::milliseconds{100};
  }
  void moved(const slot_set& slots) override;
  std::string state() const override;
  bool keep_marks() const override;

  /// After the copy job ended: puts notify-keyspace-events back and writes the report.
  sync_report finish(copy_report snapshot);
  /// Counters so far (any thread).
  sync_progress progress() const;
  /// Cut over at the next convergence (any thread; SIGUSR1).
  void request_cutover() noexcept { cutover_requested_ = true; }

 private:
  enum class outcome { running, converged, cut_over, cutover_failed };
  enum class cutover_step { idle, catching_up, draining, done };

  bool converged_now() const;
  bool quiet_for(std::chrono::milliseconds settle) const;
  bool ready_for_cutover() const;
  bool fenced(std::uint64_t token) const;
  void until_converged(bool settled, std::chrono::steady_clock::time_point now);
  void follow_topology();
  void advance_cutover(bool settled);
  void fail_cutover(std::string why);
  std::vector<sync_shard_report> shard_reports() const;

  const sync_config& config_;
  job_control* control_ = nullptr;
  std::unique_ptr<sync_settings> settings_;
  mutable std::mutex stats_mutex_;  // stats_ is read by progress() from any thread
  std::vector<std::unique_ptr<shard_sync_stats>> stats_;
  std::vector<std::unique_ptr<sync_shard>> shards_;
  std::vector<std::string> sources_;  // each shard's source master, as the snapshot names it
  std::vector<notification_state> notifications_;
  protocol::connection_options source_base_;
  bool cluster_ = false;
  std::vector<shard_view> views_;
  std::unique_ptr<cluster_look> look_;
  std::chrono::steady_clock::time_point last_look_{};
  struct handoff {
    std::uint64_t token;
    std::size_t from, to;
    protocol::slot_set slots;
  };
  std::vector<handoff> handoffs_;
  std::uint64_t next_token_ = 1;
  settle_clock settle_;
  std::atomic<bool> converged_{false};
  std::atomic<bool> cutover_requested_{false};
  std::int64_t converged_at_ms_ = 0;
  outcome outcome_ = outcome::running;
  cutover_step step_ = cutover_step::idle;
  std::unique_ptr<cutover_io> cutover_;
  bool can_pause_ = false;  // the source has CLIENT PAUSE WRITE (Redis >= 6.2)
  std::string pause_version_;
  std::optional<cutover_report> cutover_report_;
  std::chrono::steady_clock::time_point pause_deadline_{};
  std::uint64_t fence_token_ = 0;
  // Each shard's INFO commandstats looks when the source was paused: the drain waits for two
  // more (the second began after the pause), which catch a FLUSHDB or XACK just before it.
  std::vector<std::uint64_t> samples_at_pause_;
  // --until-converged: the fence that must come back on every subscriber before the job ends,
  // and when it was sent (0: none sent in the current converged stretch).
  std::uint64_t until_fence_ = 0;
  std::chrono::steady_clock::time_point until_fence_sent_{};
  std::vector<std::string> warnings_;
};

}  // namespace ferry::engine
