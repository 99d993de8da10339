#pragma once
// The counters, committed positions and inline-verify counts of every shard of a copy job
// (rescans included). The job owns them, so they outlive the passes that write them, and
// progress lines and metrics read them from any thread at any time.
//
// Thread: add() and total() are safe from any thread (a mutex); the objects handed out are
// written by one worker thread each (relaxed atomics, or a mutex inside published_position).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/copy/checkpoint.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/shard_meters.hpp"
#include "engine/copy/shard_pass.hpp"
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

/// See the file comment.
class shard_book {
 public:
  /// Adds a shard that starts from `start` (what an earlier run settled) and expects `estimate`
  /// keys in all; `source` names it ("host:port"; a pass's run() names it otherwise). Returns
  /// its index.
  std::size_t add(const shard_position& start, std::uint64_t estimate, std::string source = {});

  /// Shard `i`'s counters.
  shard_counters& counters(std::size_t i) { return *at(i).counters; }
  /// Shard `i`'s committed position.
  published_position& position(std::size_t i) { return *at(i).position; }
  /// What the inline verifier found in shard `i`.
  verify_counters& verified(std::size_t i) { return *at(i).verified; }
  /// Shard `i`'s latencies and link counts (metrics only).
  shard_meters& meters(std::size_t i) { return *at(i).meters; }

  /// A pass's run of shard `i`.
  shard_run run(std::size_t i, protocol::connection_options source, std::uint64_t start_cursor,
                const counts& start_done, std::shared_ptr<const slot_set> slots, bool rescan);

  /// The counters summed over every shard.
  counts total() const;
  /// Every shard as the metrics endpoint reads it (safe from any thread, at any time).
  std::vector<shard_snapshot> snapshot() const;
  /// What the inline verifier found, summed over every shard.
  verify_counts verified_total() const;
  /// Forgets every shard (the job starts again from a checkpoint).
  void clear();

 private:
  struct entry {
    std::unique_ptr<shard_counters> counters;
    std::unique_ptr<published_position> position;
    std::unique_ptr<verify_counters> verified;
    std::unique_ptr<shard_meters> meters;
    std::string source;
    bool rescan = false;
  };
  entry& at(std::size_t i) {
    std::lock_guard lock(mutex_);
    return entries_[i];
  }

  mutable std::mutex mutex_;
  std::vector<entry> entries_;
};

}  // namespace ferry::engine
