#pragma once
// A whole `ferry import`: checks the file (a regular file is read once first: structure, CRC64,
// databases) and the target (reachable, empty unless --on-existing says otherwise, its RDB
// version), then runs the feed (import_feed.hpp) on a thread of its own and the target's writers
// on worker threads, keeps the state file (the offset up to which every key is settled) and the
// target's marks as `ferry copy` does, and reports what happened.

#include <cstdint>
#include <memory>
#include <mutex>

#include "engine/copy/counters.hpp"
#include "engine/import/import_config.hpp"
#include "engine/runtime/job_control.hpp"

namespace ferry::engine {

class fd_source;

/// What a progress line shows of an import.
struct import_progress {
  /// Keys so far.
  counts keys;
  /// Bytes of the file read (compressed ones for gzip), and its size (0 for stdin).
  std::uint64_t file_read = 0;
  std::uint64_t file_size = 0;
};

/// See the file comment.
class import_job {
 public:
  /// A job that will run `config`.
  explicit import_job(import_config config);
  ~import_job();

  /// Runs the job to its end on the calling thread, a feed thread and worker threads.
  import_report run();

  /// Counters and bytes so far. Safe from any thread, at any time.
  import_progress progress() const;
  /// Asks the job to stop reading and finish what is in flight. Safe from any thread.
  void drain() noexcept { control_.drain(); }

 private:
  import_config config_;
  job_control control_;
  shard_counters counters_;
  // The input being read, for progress(): set and cleared by run() under the mutex.
  mutable std::mutex progress_mutex_;
  const fd_source* file_ = nullptr;
  std::uint64_t file_size_ = 0;
};

}  // namespace ferry::engine
