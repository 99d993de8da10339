#include "engine/sync/dirty_set.hpp"

namespace ferry::engine {

dirty_set::dirty_set(std::size_t max_bytes, clock::duration hold)
    : max_bytes_(max_bytes), hold_(hold) {}

bool dirty_set::has_room(std::string_view key) const {
  return entries_.contains(std::string(key)) || bytes_ + cost(key) <= max_bytes_;
}

dirty_set::marked dirty_set::mark(std::string_view key, clock::time_point now, bool event) {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (bytes_ + cost(key) > max_bytes_) return marked::overflow;
    it = entries_.emplace(std::string(key), entry{}).first;
    bytes_ += cost(key);
    if (event) {
      it->second.oldest = now;
      it->second.events = 1;
      ++pending_events_;
    }
    queue_.push_back(&it->first);
    return marked::added;
  }
  entry& e = it->second;
  if (e.now == state::in_flight) {
    // The read in flight may have come before this change: read again once it is settled.
    e.now = state::in_flight_dirty;
  }
  if (event) {
    if (e.events == 0) e.oldest = now;
    ++e.events;
    ++pending_events_;
  }
  return marked::coalesced;
}

void dirty_set::release_held(clock::time_point now) {
  while (!held_.empty() && held_.begin()->first <= now) {
    const std::string* key = held_.begin()->second;
    held_.erase(held_.begin());
    entries_.at(*key).now = state::queued;
    queue_.push_back(key);
  }
}

void dirty_set::take(std::size_t max, clock::time_point now, std::vector<std::string>& out) {
  release_held(now);
  for (std::size_t n = 0; n < max && !queue_.empty(); ++n) {
    const std::string* key = queue_.front();
    queue_.pop_front();
    entry& e = entries_.at(*key);
    e.now = state::in_flight;
    e.covered = e.oldest;
    e.covered_events = e.events;
    e.events = 0;
    e.started = now;
    ++in_flight_;
    out.push_back(*key);
  }
}

dirty_set::applied dirty_set::settle(std::string_view key, clock::time_point now) {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return {};
  entry& e = it->second;
  if (e.now != state::in_flight && e.now != state::in_flight_dirty) return {};
  const applied done{now - e.covered, e.covered_events, e.covered};
  pending_events_ -= e.covered_events;
  --in_flight_;
  if (e.now == state::in_flight) {
    erase(it);
    return done;
  }
  // Changed again while its re-copy was in flight: once more, but not sooner than `hold` after
  // the last one began.
  e.covered_events = 0;
  const auto ready_at = e.started + hold_;
  if (ready_at <= now) {
    e.now = state::queued;
    queue_.push_back(&it->first);
  } else {
    e.now = state::held;
    held_.emplace(ready_at, &it->first);
  }
  return done;
}

void dirty_set::erase(map::iterator it) {
  pending_events_ -= it->second.events;
  bytes_ -= cost(it->first);
  entries_.erase(it);
}

}  // namespace ferry::engine
