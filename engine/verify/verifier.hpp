#pragma once
// A whole `ferry verify`: prepares both sides like a copy does, compares every source key with
// the target on worker threads (one task per source master, each with its own SCAN cursor and
// a few comparers), scans every target master for keys only it holds, optionally repairs what
// differs, and reports counts.
//
// Each worker thread runs its own io_context with its own view of both sides' slot maps; the
// threads share only the job's stop flag, the counters (added once per batch) and the diff
// file.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/runtime/job_control.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/verify/key_compare.hpp"
#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// A `ferry verify` job.
struct verify_config {
  /// The reference.
  side source;
  /// The copy that must equal it.
  side target;
  /// Only keys matching this glob (on both sides); empty for all.
  std::string match;
  /// What to compare and how patiently (the PEXPIRETIME flags are set by the job).
  compare_options compare;
  /// Also scan the target for keys the source lacks.
  bool extra = true;
  /// Re-copy keys that are missing or differ.
  bool repair = false;
  /// With `repair`: delete keys that exist only on the target.
  bool delete_extra = false;
  /// JSON-lines file of differences; empty for none.
  std::string diff_path;
  /// Threads, SCAN COUNT, batch size, timeouts.
  tuning tune;
  /// Comparer coroutines per source master (each with its own connections).
  unsigned comparers_per_shard = 4;
};

/// What a verify job counts.
enum class verify_counter : std::size_t {
  scanned,         ///< source keys returned by SCAN
  checked,         ///< source keys compared (those still on the source)
  equal,           ///< keys equal on both sides
  missing,         ///< keys absent from the target
  value,           ///< keys whose values (or lengths, in quick mode) differ
  type,            ///< keys of another type on the target
  expiry,          ///< keys whose expiries differ beyond the tolerance
  changed,         ///< keys that kept changing on the source: no verdict
  vanished,        ///< keys gone from the source between SCAN and the comparison
  extra,           ///< keys only the target holds
  target_scanned,  ///< target keys looked up on the source
  deep,            ///< keys compared element by element (digests differed)
  rechecked,       ///< keys compared more than once because a side moved meanwhile
  repaired,        ///< differences repaired and confirmed equal afterwards
  repair_failed,   ///< differences a repair could not fix
  estimated,       ///< source keys when the job started (DBSIZE), for progress
  count_,          ///< (number of counters)
};

/// A snapshot of the counters.
struct verify_counts {
  /// Values by counter.
  std::array<std::uint64_t, static_cast<std::size_t>(verify_counter::count_)> values{};

  /// The value of `c`.
  std::uint64_t operator[](verify_counter c) const noexcept {
    return values[static_cast<std::size_t>(c)];
  }
  /// The value of `c`, to change it.
  std::uint64_t& operator[](verify_counter c) noexcept {
    return values[static_cast<std::size_t>(c)];
  }
  /// Keys found different, extra keys included (changed keys are not differences).
  std::uint64_t differences() const noexcept;
  /// Source keys settled one way or another (for progress).
  std::uint64_t settled() const noexcept;
  /// Adds another snapshot.
  verify_counts& operator+=(const verify_counts& other) noexcept;
};

/// The counter of verdicts of kind `kind` (`equal` for none).
verify_counter counter_of(difference kind) noexcept;

/// The job's counters. Relaxed atomics: workers add a batch's counts at once; anyone reads.
class verify_counters {
 public:
  /// Adds `counts`.
  void add(const verify_counts& counts) noexcept;
  /// Reads every counter.
  verify_counts snapshot() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(verify_counter::count_)>
      values_{};
};

/// Messages to show once, gathered from every thread.
class warning_list {
 public:
  /// Adds `text` unless it is already there. Safe from any thread.
  void add(const std::string& text);
  /// Everything added, in order.
  std::vector<std::string> all() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> texts_;
};

/// How a verify job ended.
enum class verify_status {
  equal,        ///< the target equals the source (after repairs, if asked for)
  differences,  ///< differences (or keys that kept changing) remain
  interrupted,  ///< stopped by drain() before every key was compared
  fatal,        ///< could not run, or stopped by a fatal error (see `failure`)
};

/// How the job looked for keys only the target holds.
enum class extra_pass {
  off,       ///< not asked for (--no-extra)
  ran,       ///< the target was scanned and its keys looked up on the source
  proven,    ///< unnecessary: the target's key count proved it holds no key the source pass missed
  not_run,   ///< the job ended before it (a fatal error or a drain)
};

/// What the job found.
struct verify_report {
  /// Whether the extra-key pass ran, and why (see extra_proof.hpp).
  extra_pass extra = extra_pass::off;
  /// Why the pass ran although a count might have made it unnecessary, or what proved it so.
  std::string extra_why;
  /// The target's scan started beside the source pass (a watch saw a side written during it),
  /// not after it; when the count then proved the pass unnecessary, what it found was dropped.
  bool extra_early = false;
  /// How it ended.
  verify_status status = verify_status::fatal;
  /// The counters at the end.
  verify_counts totals;
  /// The fatal failure, when status is `fatal`.
  std::optional<protocol::failure> failure;
  /// Things the user should know (e.g. a side refused the digest script).
  std::vector<std::string> warnings;
  /// Wall-clock seconds.
  double duration_s = 0;
  /// Worker threads used.
  unsigned threads = 0;
  /// Source masters compared.
  std::size_t shards = 0;
  /// The sides as printable (redacted) URLs.
  std::string source, target;
};

/// See the file comment.
class verifier {
 public:
  /// A job that will run `config`.
  explicit verifier(verify_config config);

  /// Runs the job to its end on the calling thread plus worker threads.
  verify_report run();
  /// Counters so far. Safe from any thread, at any time.
  verify_counts progress() const { return counters_.snapshot(); }
  /// Asks the job to stop comparing new keys. Safe from any thread.
  void drain() noexcept { control_.drain(); }
  /// The fatal failure that stops the job, once there is one. Safe from any thread.
  std::optional<protocol::failure> failure() const { return control_.failure(); }

 private:
  verify_config config_;
  job_control control_;
  verify_counters counters_;
  warning_list warnings_;
};

}  // namespace ferry::engine
