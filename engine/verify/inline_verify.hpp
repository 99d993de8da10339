#pragma once
// The inline verifier of `ferry copy --verify`: behind the writers of one shard, it compares the
// keys they copied (all, or the sample `--verify-sample` chooses by key hash) between the source
// and the target, with the comparer of `ferry verify` (key_compare.hpp).
//
// A writer, once the target has acknowledged a batch, takes the sampled keys among those it
// copied (never the vanished, failed or skipped ones) as small copies with the digest and expiry
// of what was written, so the batch's payload memory is given back at once. push() queues them and
// waits while the shard's queue holds more than `queue_bytes`: a slow verifier slows the writers,
// and so the copy, instead of growing memory. run() runs the comparers (as many as the shard has
// writers, each with its own connections to both sides, none shared with the copy's readers and
// writers) until finish() ends the stream.
//
// The copy knows what it wrote, which makes a verdict sharper than `ferry verify` can: a key
// whose source no longer holds the copied value or expiry (a live source written after ferry
// read it) is `changed`, not a difference. Only a target that does not hold what ferry wrote,
// or lacks the key, is reported as one.
//
// The checkpoint does not wait for this stage: a state file still commits a SCAN cursor once its
// keys are acknowledged, exactly as without --verify. Keys still queued when a job stops are not
// compared by the run that resumes it; `ferry verify` is the complete proof.
//
// Thread: the shard's worker thread (one io_context); not thread-safe.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/cluster/slot_router.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/verify/copied_keys.hpp"
#include "engine/verify/diff_file.hpp"
#include "engine/verify/inline_settings.hpp"
#include "engine/verify/key_compare.hpp"
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

/// What the inline verifiers of one worker thread share.
struct inline_verify_context {
  /// The --verify settings.
  const inline_verification& config;
  /// Comparison settings (full mode, tolerance, rounds, PEXPIRETIME support of each side).
  compare_options compare;
  /// Timeouts and retries of the connections.
  const tuning& tune;
  /// Stop requests and fatal failures of the whole job.
  job_control& control;
  /// Where differences are written (shared by every thread).
  diff_file& diffs;
  /// Messages to show once (shared by every thread).
  warning_list& warnings;
  /// This thread's view of the source's slot map.
  slot_router& source_map;
  /// This thread's view of the target's slot map (the writers' router).
  slot_router& target_map;
};

/// See the file comment.
class inline_verifier {
 public:
  /// A verifier for one shard whose `comparers` coroutines add to `counters`.
  inline_verifier(boost::asio::any_io_executor executor, inline_verify_context& context,
                  verify_counters& counters, unsigned comparers);

  /// Queues `batch` for the comparers; waits while the queue is full.
  boost::asio::awaitable<void> push(copied_batch batch);
  /// Runs the comparers until finish() has been called and the queue is empty.
  boost::asio::awaitable<void> run();
  /// Tells the comparers that no more batches will come.
  boost::asio::awaitable<void> finish();

 private:
  using channel = boost::asio::experimental::channel<void(boost::system::error_code, copied_batch)>;
  boost::asio::awaitable<void> compare_batches();

  inline_verify_context& context_;
  verify_counters& counters_;
  unsigned comparers_;
  byte_budget queue_;
  channel batches_;
};

}  // namespace ferry::engine
