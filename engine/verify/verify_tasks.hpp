#pragma once
// The coroutines of a verify job on one worker thread: a source master's comparison and a
// target master's search for extra keys.
//
// Thread: the worker thread whose io_context runs them; the context's routers are that
// thread's.

#include <boost/asio/awaitable.hpp>

#include "engine/cluster/slot_router.hpp"
#include "engine/verify/diff_file.hpp"
#include "engine/verify/extra_proof.hpp"
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

/// What the tasks of one worker thread share.
struct verify_context {
  /// The job.
  const verify_config& config;
  /// Comparison settings with the sides' PEXPIRETIME support filled in.
  const compare_options& compare;
  /// Stop requests and fatal failures of the whole job.
  job_control& control;
  /// The job's counters.
  verify_counters& counters;
  /// Where differences are written.
  diff_file& diffs;
  /// Warnings to show once.
  warning_list& warnings;
  /// This thread's view of the source's slot map.
  slot_router& source_map;
  /// This thread's view of the target's slot map.
  slot_router& target_map;
  /// When the job tries to prove the extra-key pass unnecessary: this thread's notes of the keys
  /// the source pass found present on the target (see extra_proof.hpp); null otherwise.
  key_hash_set* present = nullptr;
  /// When the extra-key pass runs after a failed proof: the keys the source pass found on the
  /// target (deduplicated), which the pass need not look up on the source again (each was
  /// compared, and reported if it differed); null otherwise.
  const key_hash_set* compared = nullptr;
};

/// Compares every key of the source master at `node` with the target (and repairs, if asked).
boost::asio::awaitable<void> verify_shard(verify_context& context,
                                          protocol::connection_options node);

/// Looks up every key of the target master at `node` on the source and reports those the
/// source lacks (and deletes them, if asked).
boost::asio::awaitable<void> find_extra_keys(verify_context& context,
                                             protocol::connection_options node);

}  // namespace ferry::engine
