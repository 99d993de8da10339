#pragma once
// Per-shard counters, written by the shard's thread and read by progress and reports.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace ferry::engine {

/// A consistent-enough copy of the counters at one moment.
struct counts {
  /// Keys returned by SCAN (after the slot filter).
  std::uint64_t scanned = 0;
  /// Keys the target acknowledged.
  std::uint64_t copied = 0;
  /// Keys gone between SCAN and DUMP (deleted or expired): nothing to copy.
  std::uint64_t vanished = 0;
  /// Keys left alone because they existed on the target (--on-existing skip).
  std::uint64_t skipped = 0;
  /// Keys that could not be copied (see the failed-keys file).
  std::uint64_t failed = 0;
  /// DUMP payload bytes written to the target.
  std::uint64_t bytes = 0;
  /// Keys the source held when the job started (DBSIZE), for progress.
  std::uint64_t estimated = 0;
  /// Batches sent again after a connection broke or a node redirected them.
  std::uint64_t retries = 0;
  /// Keys seen again and found already copied (or overwritten with their newer value): keys of
  /// moved slots that a rescan met on the target (see slot_watch.hpp), or keys SCAN returned
  /// twice. They are not counted in `copied` again.
  std::uint64_t rescanned = 0;
  /// Of `copied`: keys written by RESTORE with the payload as the source gave it.
  std::uint64_t restored = 0;
  /// Of `copied`: keys written by RESTORE with the payload's trailer rewritten for an older
  /// target (the same value, a lower RDB version).
  std::uint64_t downgraded = 0;
  /// Of `copied`: keys written with type commands (struct mode); `rebuilt_by` says why.
  std::uint64_t rebuilt = 0;
  /// Rebuilt keys by reason (indexed by rebuild_reason; `none` stays 0).
  std::array<std::uint64_t, 6> rebuilt_by{};
  /// Keys copied in chunks that changed on the source while they were read: copied as read
  /// (a live sync copies them again). Counted in `copied` too.
  std::uint64_t changed = 0;

  /// Adds another shard's counts.
  counts& operator+=(const counts& other) noexcept;
  /// Subtracts counts (this run = totals - what earlier runs had done); `estimated` is kept.
  counts& operator-=(const counts& other) noexcept;
  /// Keys settled one way or another.
  std::uint64_t settled() const noexcept {
    return copied + vanished + skipped + failed + rescanned;
  }
};

/// Counters of one shard. Relaxed atomics: the owner adds, others only read.
struct shard_counters {
  std::atomic<std::uint64_t> scanned{0};                   ///< see counts::scanned
  std::atomic<std::uint64_t> copied{0};                    ///< see counts::copied
  std::atomic<std::uint64_t> vanished{0};                  ///< see counts::vanished
  std::atomic<std::uint64_t> skipped{0};                   ///< see counts::skipped
  std::atomic<std::uint64_t> failed{0};                    ///< see counts::failed
  std::atomic<std::uint64_t> bytes{0};                     ///< see counts::bytes
  std::atomic<std::uint64_t> estimated{0};                 ///< see counts::estimated
  std::atomic<std::uint64_t> retries{0};                   ///< see counts::retries
  std::atomic<std::uint64_t> rescanned{0};                 ///< see counts::rescanned
  std::atomic<std::uint64_t> restored{0};                  ///< see counts::restored
  std::atomic<std::uint64_t> downgraded{0};                ///< see counts::downgraded
  std::atomic<std::uint64_t> rebuilt{0};                   ///< see counts::rebuilt
  std::array<std::atomic<std::uint64_t>, 6> rebuilt_by{};  ///< see counts::rebuilt_by
  std::atomic<std::uint64_t> changed{0};                   ///< see counts::changed

  /// Adds `n` to `counter` (owner thread only).
  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
  /// Reads every counter.
  counts snapshot() const noexcept;
  /// Starts from counts an earlier run committed (before any thread uses the counters).
  void set(const counts& start) noexcept;
};

inline counts& counts::operator+=(const counts& other) noexcept {
  scanned += other.scanned;
  copied += other.copied;
  vanished += other.vanished;
  skipped += other.skipped;
  failed += other.failed;
  bytes += other.bytes;
  estimated += other.estimated;
  retries += other.retries;
  rescanned += other.rescanned;
  restored += other.restored;
  downgraded += other.downgraded;
  rebuilt += other.rebuilt;
  for (std::size_t i = 0; i < rebuilt_by.size(); ++i) rebuilt_by[i] += other.rebuilt_by[i];
  changed += other.changed;
  return *this;
}

inline counts& counts::operator-=(const counts& other) noexcept {
  scanned -= other.scanned;
  copied -= other.copied;
  vanished -= other.vanished;
  skipped -= other.skipped;
  failed -= other.failed;
  bytes -= other.bytes;
  retries -= other.retries;
  rescanned -= other.rescanned;
  restored -= other.restored;
  downgraded -= other.downgraded;
  rebuilt -= other.rebuilt;
  for (std::size_t i = 0; i < rebuilt_by.size(); ++i) rebuilt_by[i] -= other.rebuilt_by[i];
  changed -= other.changed;
  return *this;
}

inline void shard_counters::set(const counts& start) noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  scanned.store(start.scanned, relaxed);
  copied.store(start.copied, relaxed);
  vanished.store(start.vanished, relaxed);
  skipped.store(start.skipped, relaxed);
  failed.store(start.failed, relaxed);
  bytes.store(start.bytes, relaxed);
  retries.store(start.retries, relaxed);
  rescanned.store(start.rescanned, relaxed);
  restored.store(start.restored, relaxed);
  downgraded.store(start.downgraded, relaxed);
  rebuilt.store(start.rebuilt, relaxed);
  for (std::size_t i = 0; i < rebuilt_by.size(); ++i) rebuilt_by[i].store(start.rebuilt_by[i]);
  changed.store(start.changed, relaxed);
}

inline counts shard_counters::snapshot() const noexcept {
  constexpr auto relaxed = std::memory_order_relaxed;
  counts c;
  c.scanned = scanned.load(relaxed);
  c.copied = copied.load(relaxed);
  c.vanished = vanished.load(relaxed);
  c.skipped = skipped.load(relaxed);
  c.failed = failed.load(relaxed);
  c.bytes = bytes.load(relaxed);
  c.estimated = estimated.load(relaxed);
  c.retries = retries.load(relaxed);
  c.rescanned = rescanned.load(relaxed);
  c.restored = restored.load(relaxed);
  c.downgraded = downgraded.load(relaxed);
  c.rebuilt = rebuilt.load(relaxed);
  for (std::size_t i = 0; i < rebuilt_by.size(); ++i) c.rebuilt_by[i] = rebuilt_by[i].load(relaxed);
  c.changed = changed.load(relaxed);
  return c;
}

}  // namespace ferry::engine
