#pragma once
// The coroutines of a verify job on one worker thread: a source master's comparison, a
// target master's search for extra keys, and the watch that may start that search early.
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
  /// When the extra-key pass runs beside the source pass, waiting for the proof's judgement (see
  /// extra_proof.hpp): when its scan may start, and, once open, the keys the source pass found
  /// on the target (deduplicated), which the pass need not look up on the source again (each was
  /// compared, and reported if it differed); null when the pass runs unconditionally.
  const extra_gate* gate = nullptr;
};

/// Compares every key of the source master at `node` with the target (and repairs, if asked).
boost::asio::awaitable<void> verify_shard(verify_context& context,
                                          protocol::connection_options node);

/// Looks up every key of the target master at `node` on the source and reports those the
/// source lacks (and deletes them, if asked). With a gate, scans only once it has started or
/// opened, holds what it finds until it is open, and ends when it is cancelled.
boost::asio::awaitable<void> find_extra_keys(verify_context& context,
                                             protocol::connection_options node);

/// The masters of both sides, whose write counters tell whether the proof will likely fail.
struct watched_sides {
  protocol::connection_options source;
  std::vector<protocol::cluster_node> source_masters;
  protocol::connection_options target;
  std::vector<protocol::cluster_node> target_masters;
};

/// Reads the states of both sides' masters every 250 ms while `gate` waits, and starts it once
/// either side was written or changed (a side whose state cannot be read is not watched); ends
/// when the gate is no longer waiting or the job stops.
boost::asio::awaitable<void> start_on_writes(verify_context& context, extra_gate& gate,
                                             watched_sides sides);

}  // namespace ferry::engine
