#pragma once
// A whole `ferry export`: SCAN + DUMP + expiry on every master of the source (the copy
// pipeline's scanner and readers, engine/copy/shard.hpp, with the file as their sink instead of
// the target's writers) into one standard RDB file, functions included.
//
// Each key is exactly as the source held it when it was read (DUMP and PEXPIRETIME on the same
// connection, one after the other), but keys are read one after another while the source runs:
// the file is per-key consistent, NOT a point-in-time snapshot (a key written during the export
// may be in it with its old value or its new one; a key deleted during it may be in it or not).

#include <atomic>
#include <cstdint>

#include "engine/copy/counters.hpp"
#include "engine/copy/shard_book.hpp"
#include "engine/import/export_config.hpp"
#include "engine/runtime/job_control.hpp"

namespace ferry::engine {

/// See the file comment.
class export_job {
 public:
  /// A job that will run `config`.
  explicit export_job(export_config config);
  ~export_job();

  /// Runs the job to its end on the calling thread plus worker threads.
  export_report run();

  /// Keys so far (summed over shards), and bytes of the file written. Any thread, any time.
  counts progress() const;
  /// Bytes written to the file so far. Any thread, any time.
  std::uint64_t file_bytes() const noexcept { return file_bytes_.load(std::memory_order_relaxed); }
  /// Asks the job to stop (the file is then not written). Any thread.
  void drain() noexcept { control_.drain(); }

 private:
  export_config config_;
  job_control control_;
  shard_book shards_;
  std::atomic<std::uint64_t> file_bytes_{0};
};

}  // namespace ferry::engine
