#include "engine/cluster/redirect_round.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace ferry::engine {

namespace {

constexpr std::size_t no_group = static_cast<std::size_t>(-1);

}  // namespace

std::string node_address::text() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port)
                                             : fmt::format("{}:{}", host, port);
}

redirect_round::redirect_round(home_node home, moved_policy moved, backoff retry)
    : home_(home), moved_(moved), backoff_(std::move(retry)) {}

void redirect_round::begin(std::size_t keys) {
  todo_.clear();
  todo_.reserve(keys);
  for (std::size_t i = 0; i < keys; ++i)
    todo_.push_back({static_cast<std::uint32_t>(i), {}, false});
  next_.clear();
  refresh_ = false;
  cause_.reset();
  backoff_.reset();
}

void redirect_round::begin(std::vector<std::uint32_t> keys) {
  todo_.clear();
  todo_.reserve(keys.size());
  for (const auto index : keys) todo_.push_back({index, {}, false});
  next_.clear();
  refresh_ = false;
  cause_.reset();
  backoff_.reset();
}

std::span<const round_group> redirect_round::plan(const protocol::topology* map,
                                                  const slot_of& slot) {
  for (std::size_t g = 0; g < used_; ++g) groups_[g].keys.clear();
  used_ = 0;
  auto take_group = [&](std::optional<std::size_t> master, const std::optional<node_address>& node,
                        bool asking) -> round_group& {
    if (used_ == groups_.size()) groups_.emplace_back();
    round_group& group = groups_[used_++];
    group.master = master;
    group.node = node;
    group.asking = asking;
    return group;
  };
  const bool by_map = home_ == home_node::slot_owner && map != nullptr;
  if (by_map) by_master_.assign(map->masters().size(), no_group);
  std::size_t own_group = no_group;
  // Redirected keys are rare: found by a linear look among this round's groups.
  for (pending& p : todo_) {
    if (p.node) {
      auto same = std::find_if(
          groups_.begin(), groups_.begin() + static_cast<long>(used_),
          [&](const round_group& g) { return g.node == p.node && g.asking == p.asking; });
      round_group& group = same != groups_.begin() + static_cast<long>(used_)
                               ? *same
                               : take_group({}, p.node, p.asking);
      group.keys.push_back(p.index);
    } else if (by_map) {
      const auto owner = map->master_of(slot(p.index));
      if (!owner) {
        // No master serves the slot right now (a resharding or failover in progress).
        refresh_ = true;
        next_.push_back(std::move(p));
        continue;
      }
      if (by_master_[*owner] == no_group) {
        by_master_[*owner] = used_;
        take_group(*owner, {}, false);
      }
      groups_[by_master_[*owner]].keys.push_back(p.index);
    } else {
      if (own_group == no_group) {
        own_group = used_;
        take_group({}, {}, false);
      }
      groups_[own_group].keys.push_back(p.index);
    }
  }
  todo_.clear();
  return {groups_.data(), used_};
}

void redirect_round::redirect(std::uint32_t index, const protocol::redirect& to,
                              const std::string& from_host) {
  if (!cause_) cause_ = to.ask ? protocol::errc::ask : protocol::errc::moved;
  pending p{index, {}, false};
  if (to.ask || moved_ == moved_policy::follow) {
    p.node = node_address{to.host.empty() ? from_host : to.host, to.port};
    p.asking = to.ask;
  }
  if (!to.ask && moved_ == moved_policy::refresh_map) refresh_ = true;
  next_.push_back(std::move(p));
}

void redirect_round::retry(std::uint32_t index, protocol::errc cause) {
  if (!cause_) cause_ = cause;
  next_.push_back({index, {}, false});
}

void redirect_round::retry_same(std::uint32_t index, const round_group& group,
                                protocol::errc cause) {
  if (!cause_) cause_ = cause;
  next_.push_back({index, group.node, group.asking});
}

round_outcome redirect_round::finish(backoff::clock::time_point now) {
  round_outcome outcome;
  // Keys kept back while planning (no owner) were added to next_ already.
  std::swap(todo_, next_);
  next_.clear();
  outcome.pending = todo_.size();
  if (todo_.empty()) {
    outcome.next = round_outcome::step::done;
    refresh_ = false;
    cause_.reset();
    return outcome;
  }
  ++rounds_retried_;
  // A key kept back while planning (no owner for its slot) noted no cause: the cluster is down
  // for that slot right now.
  if (stats_ != nullptr) stats_->retried(cause_.value_or(protocol::errc::clusterdown));
  cause_.reset();
  outcome.refresh_map = std::exchange(refresh_, false);
  const auto delay = backoff_.next(now);
  if (!delay) {
    outcome.next = round_outcome::step::give_up;
    return outcome;
  }
  outcome.next = round_outcome::step::again;
  outcome.delay = *delay;
  return outcome;
}

}  // namespace ferry::engine
