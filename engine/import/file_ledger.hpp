#pragma once
// Which byte offset of an RDB file an import may resume from, and what was done up to it.
//
// The feed reads the file in order and cuts it into batches; writers settle them out of order.
// A batch is the unit of engine/copy's scan_ledger, with the offset where the next batch's keys
// begin as its "cursor": an offset is committed once every batch before it is settled, so
// resuming there (the reader skips keys whose record starts before it) loses nothing and counts
// nothing twice. The last batch of a file carries cursor 0 once the file's end (and its CRC64)
// has been read: the ledger is then complete.
//
// Thread: every method is safe from any thread (a mutex; called once per batch).

#include <cstdint>
#include <mutex>

#include "engine/copy/checkpoint.hpp"
#include "engine/copy/scan_ledger.hpp"

namespace ferry::engine {

/// See the file comment.
class file_ledger {
 public:
  /// Starts at `offset` (0, or a state file's) with `done` settled by earlier runs.
  file_ledger(std::uint64_t offset, const counts& done) : ledger_(offset, done) {}

  /// Batch `seq` of `scanned` keys was cut; the next batch starts at `next_offset` (0 when this
  /// is the last batch of the file). Batches are opened in order; each is settled once.
  void opened(std::uint64_t seq, std::uint64_t next_offset, std::uint64_t scanned) {
    std::lock_guard lock(mutex_);
    ledger_.opened(seq, next_offset, scanned);
    ledger_.part_sent(seq);
    ledger_.closed(seq);
  }
  /// Every key of batch `seq` is settled, as `tally` says.
  void settled(std::uint64_t seq, const counts& tally) {
    std::lock_guard lock(mutex_);
    ledger_.part_done(seq, tally);
  }
  /// The committed position: offset to resume from, complete, and the counts up to it.
  shard_position position() const {
    std::lock_guard lock(mutex_);
    return {ledger_.committed_cursor(), ledger_.complete(), ledger_.committed_counts()};
  }

 private:
  mutable std::mutex mutex_;
  scan_ledger ledger_;
};

}  // namespace ferry::engine
