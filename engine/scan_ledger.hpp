#pragma once
// Decides which SCAN cursor may be committed to a checkpoint.
//
// A SCAN reply's keys travel in one or more parts through readers and writers that finish out of
// order. The cursor that follows a SCAN call may be committed only when every part of that call
// and of every earlier call is acknowledged by the target; resuming from it can then lose
// nothing. Pure bookkeeping, no I/O, stepped by unit tests.

#include <cstddef>
#include <cstdint>
#include <map>

namespace ferry::engine {

/// See the file comment.
class scan_ledger {
 public:
  /// A ledger whose committed cursor starts at `start_cursor` (0, or a resumed cursor).
  explicit scan_ledger(std::uint64_t start_cursor = 0) : committed_(start_cursor) {}

  /// The scanner made SCAN call `seq`, which returned `next_cursor`. Calls arrive in order.
  void opened(std::uint64_t seq, std::uint64_t next_cursor);
  /// One more part of call `seq` was handed to a reader.
  void part_sent(std::uint64_t seq);
  /// The scanner will send no more parts of call `seq`.
  void closed(std::uint64_t seq);
  /// Every key of one part of call `seq` is settled (copied, skipped, vanished or failed).
  void part_done(std::uint64_t seq);

  /// The cursor to resume from: every key returned before it is settled.
  std::uint64_t committed_cursor() const noexcept { return committed_; }
  /// True once the call that returned cursor 0 and all before it are settled.
  bool complete() const noexcept { return complete_; }
  /// SCAN calls opened but not yet committed.
  std::size_t open_calls() const noexcept { return calls_.size(); }

 private:
  struct call {
    std::uint64_t next_cursor = 0;
    std::size_t outstanding = 0;
    bool closed = false;
  };
  void advance();

  std::map<std::uint64_t, call> calls_;
  std::uint64_t committed_;
  bool complete_ = false;
};

}  // namespace ferry::engine
