#include "engine/sync/sync_stats.hpp"

#include <chrono>

namespace ferry::engine {

const char* phase_name(shard_phase p) noexcept {
  switch (p) {
    case shard_phase::snapshot:
      return "snapshot";
    case shard_phase::streaming:
      return "streaming";
    case shard_phase::reconciling:
      return "reconciling";
  }
  return "unknown";
}

gap_record gap_now(std::string cause, std::string detail) {
  gap_record gap;
  gap.cause = std::move(cause);
  gap.detail = std::move(detail);
  gap.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  return gap;
}

std::size_t shard_sync_stats::add_gap(gap_record gap) {
  std::lock_guard lock(mutex_);
  gaps_.push_back(std::move(gap));
  return gaps_.size() - 1;
}

std::vector<gap_record> shard_sync_stats::gaps() const {
  std::lock_guard lock(mutex_);
  return gaps_;
}

void shard_sync_stats::set_node(std::string address) {
  std::lock_guard lock(mutex_);
  node_ = std::move(address);
}

std::string shard_sync_stats::node() const {
  std::lock_guard lock(mutex_);
  return node_;
}

}  // namespace ferry::engine
