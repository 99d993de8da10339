#pragma once
// Decides which SCAN cursor may be committed to a checkpoint, and what was done up to it.
//
// A SCAN reply's keys travel in one or more parts through readers and writers that finish out of
// order. The cursor that follows a SCAN call may be committed only when every part of that call
// and of every earlier call is settled on the target; resuming from it can then lose nothing.
// The counts of committed calls are kept apart from those still in flight, so a resumed job
// starts from counts that match its cursor and counts nothing twice. Pure bookkeeping, no I/O.

#include <cstddef>
#include <cstdint>
#include <map>

#include "engine/copy/counters.hpp"

namespace ferry::engine {

/// See the file comment.
class scan_ledger {
 public:
  /// A ledger starting at `start_cursor` (0, or a resumed cursor) with `start_counts` already
  /// committed by an earlier run; `complete` when that run finished the scan (nothing is left to
  /// commit: a job that goes on beside its scans, `ferry sync`, runs such shards too).
  explicit scan_ledger(std::uint64_t start_cursor = 0, counts start_counts = {},
                       bool complete = false)
      : committed_(start_cursor), committed_counts_(start_counts), complete_(complete) {}

  /// The scanner made SCAN call `seq`, which returned `scanned` keys (after filters) and
  /// `next_cursor`. Calls arrive in order.
  void opened(std::uint64_t seq, std::uint64_t next_cursor, std::uint64_t scanned);
  /// One more part of call `seq` was handed to a reader.
  void part_sent(std::uint64_t seq);
  /// The scanner will send no more parts of call `seq`.
  void closed(std::uint64_t seq);
  /// Every key of one part of call `seq` is settled; `settled` says how.
  void part_done(std::uint64_t seq, const counts& settled);

  /// The cursor to resume from: every key returned before it is settled.
  std::uint64_t committed_cursor() const noexcept { return committed_; }
  /// What the committed calls did (plus the start counts).
  const counts& committed_counts() const noexcept { return committed_counts_; }
  /// True once the call that returned cursor 0 and all before it are settled.
  bool complete() const noexcept { return complete_; }
  /// SCAN calls opened but not yet committed.
  std::size_t open_calls() const noexcept { return calls_.size(); }
  /// Bumped whenever the committed cursor moves, so observers can tell news cheaply.
  std::uint64_t commits() const noexcept { return commits_; }

 private:
  struct call {
    std::uint64_t next_cursor = 0;
    std::size_t outstanding = 0;
    bool closed = false;
    counts tally;
  };
  void advance();

  std::map<std::uint64_t, call> calls_;
  std::uint64_t committed_;
  counts committed_counts_;
  bool complete_ = false;
  std::uint64_t commits_ = 0;
};

}  // namespace ferry::engine
