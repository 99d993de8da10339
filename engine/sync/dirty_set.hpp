#pragma once
// The keys a shard's source changed and the target does not have yet: `ferry sync`'s dirty set.
// Pure bookkeeping, no I/O (step-tested in tests/unit/sync_dirty_set_test.cpp).
//
// An event marks its key dirty. The re-copy takes ready keys in the order they became dirty, and
// a taken key is "in flight" until its re-copy is settled on the target: the re-copy reads the
// source after the event, so the last value wins whatever the order of events. At most one
// re-copy of a key is in flight at a time (two could land on the target out of order); an event
// that arrives meanwhile marks the key dirty again, and it is taken again once its re-copy is
// settled. Coalescing bounds the work: any number of events of a waiting key make one re-copy,
// and a key dirtied again while in flight waits until `hold` after its last re-copy began, so a
// key written 10,000 times a second is re-copied at most 1/hold times a second.
//
// Memory is bounded: each key costs its length plus `entry_overhead` bytes, and a mark that does
// not fit is refused (`overflow`): the caller then reconciles the shard instead of dropping the
// change silently. Keys already in the set always take their events.
//
// Thread: the shard's worker thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ferry::engine {

/// See the file comment.
class dirty_set {
 public:
  using clock = std::chrono::steady_clock;

  /// Bytes a key costs beyond its own length (the entry, the hash node, the queue slot).
  static constexpr std::size_t entry_overhead = 128;

  /// What a mark did.
  enum class marked {
    added,      ///< the key was clean: now waiting for a re-copy
    coalesced,  ///< the key was already waiting (or waits again after its re-copy in flight)
    overflow,   ///< no room: the change is not recorded (reconcile the shard)
  };

  /// What a settled re-copy covered.
  struct applied {
    /// From the oldest event it covered to now.
    clock::duration lag{};
    /// Events it covered (0 for a key only a reconcile marked: no lag to speak of).
    std::uint64_t events = 0;
    /// When the oldest event it covered arrived.
    clock::time_point oldest{};
  };

  /// A set of at most `max_bytes` (see the file comment) that holds a key dirtied during its own
  /// re-copy until `hold` after that re-copy began.
  dirty_set(std::size_t max_bytes, clock::duration hold);

  /// An event named `key`, received at `now` (`event` false: a reconcile found the key
  /// different; it is re-copied like any other, but no event's lag is measured by it).
  marked mark(std::string_view key, clock::time_point now, bool event = true);
  /// True when marking `key` would not overflow (a reconcile waits for room instead).
  bool has_room(std::string_view key) const;

  /// Appends to `out` up to `max` keys ready at `now` (oldest first); they are in flight until
  /// settle().
  void take(std::size_t max, clock::time_point now, std::vector<std::string>& out);
  /// The re-copy of `key` (taken) is settled on the target at `now`.
  applied settle(std::string_view key, clock::time_point now);
  /// Forgets every key that is not in flight and `drop` says to (slots given to another shard).
  template <class Predicate>
  std::size_t drop_waiting(Predicate drop);

  /// Keys dirty or in flight.
  std::size_t keys() const noexcept { return entries_.size(); }
  /// Keys waiting (ready or held), not in flight.
  std::size_t waiting() const noexcept { return entries_.size() - in_flight_; }
  /// Keys whose re-copy is in flight.
  std::size_t in_flight() const noexcept { return in_flight_; }
  /// Bytes held (see the file comment).
  std::size_t bytes() const noexcept { return bytes_; }
  /// The bound.
  std::size_t max_bytes() const noexcept { return max_bytes_; }
  /// True when nothing is dirty or in flight.
  bool empty() const noexcept { return entries_.empty(); }
  /// Events recorded but not yet covered by a settled re-copy.
  std::uint64_t pending_events() const noexcept { return pending_events_; }
  /// When the first held key becomes ready (time_point::max() when none is held).
  clock::time_point next_ready() const noexcept {
    return held_.empty() ? clock::time_point::max() : held_.begin()->first;
  }
  /// True when a key is ready to be taken at `now`.
  bool ready(clock::time_point now) const noexcept {
    return !queue_.empty() || next_ready() <= now;
  }

 private:
  enum class state : std::uint8_t { queued, held, in_flight, in_flight_dirty };
  struct entry {
    state now = state::queued;
    clock::time_point oldest;   // oldest event not yet covered by a read
    std::uint64_t events = 0;   // events not yet covered by a read
    clock::time_point covered;  // oldest event the read in flight covers
    std::uint64_t covered_events = 0;
    clock::time_point started;  // when its last re-copy was taken
  };
  using map = std::unordered_map<std::string, entry>;

  static std::size_t cost(std::string_view key) noexcept { return key.size() + entry_overhead; }
  void release_held(clock::time_point now);
  void erase(map::iterator it);

  std::size_t max_bytes_;
  clock::duration hold_;
  map entries_;
  std::deque<const std::string*> queue_;                       // queued keys, oldest first
  std::multimap<clock::time_point, const std::string*> held_;  // held keys by ready time
  std::size_t bytes_ = 0;
  std::size_t in_flight_ = 0;
  std::uint64_t pending_events_ = 0;
};

template <class Predicate>
std::size_t dirty_set::drop_waiting(Predicate drop) {
  std::size_t dropped = 0;
  std::deque<const std::string*> queue;
  for (const std::string* key : queue_) {
    if (drop(std::string_view(*key))) {
      erase(entries_.find(*key));
      ++dropped;
    } else {
      queue.push_back(key);
    }
  }
  queue_ = std::move(queue);
  for (auto it = held_.begin(); it != held_.end();) {
    if (drop(std::string_view(*it->second))) {
      const std::string* key = it->second;
      it = held_.erase(it);
      erase(entries_.find(*key));
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace ferry::engine
