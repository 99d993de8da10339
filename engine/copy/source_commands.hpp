#pragma once
// The commands a job sent the source, by kind, for `ferry copy --report` (what the copy cost
// the source, beside the lab's INFO commandstats). Counted per pipeline, not per key.
//
// Thread: any (relaxed atomics; read once the job has ended, or for progress).

#include <atomic>
#include <cstdint>

namespace ferry::engine {

/// A snapshot of source_commands.
struct source_command_counts {
  std::uint64_t scan = 0;
  std::uint64_t get = 0;
  std::uint64_t dump = 0;
  /// PEXPIRETIME, or PTTL on servers before 7.
  std::uint64_t expiry = 0;
  /// ASKING before a command sent to a slot being migrated.
  std::uint64_t asking = 0;
  /// INFO keyspace, stats and server: the proof that keys have no expiry (expiry_probe.hpp).
  std::uint64_t info = 0;

  std::uint64_t total() const noexcept { return scan + get + dump + expiry + asking + info; }
};

/// The job's counts; shared by every shard.
class source_commands {
 public:
  void add_scan(std::uint64_t n) noexcept { scan_.fetch_add(n, std::memory_order_relaxed); }
  void add_get(std::uint64_t n) noexcept { get_.fetch_add(n, std::memory_order_relaxed); }
  void add_dump(std::uint64_t n) noexcept { dump_.fetch_add(n, std::memory_order_relaxed); }
  void add_expiry(std::uint64_t n) noexcept { expiry_.fetch_add(n, std::memory_order_relaxed); }
  void add_asking(std::uint64_t n) noexcept { asking_.fetch_add(n, std::memory_order_relaxed); }
  void add_info(std::uint64_t n) noexcept { info_.fetch_add(n, std::memory_order_relaxed); }

  source_command_counts snapshot() const noexcept {
    return {scan_.load(std::memory_order_relaxed),   get_.load(std::memory_order_relaxed),
            dump_.load(std::memory_order_relaxed),   expiry_.load(std::memory_order_relaxed),
            asking_.load(std::memory_order_relaxed), info_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<std::uint64_t> scan_{0};
  std::atomic<std::uint64_t> get_{0};
  std::atomic<std::uint64_t> dump_{0};
  std::atomic<std::uint64_t> expiry_{0};
  std::atomic<std::uint64_t> asking_{0};
  std::atomic<std::uint64_t> info_{0};
};

}  // namespace ferry::engine
