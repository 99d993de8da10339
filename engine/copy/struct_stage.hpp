#pragma once
// Struct mode behind the writers: keys RESTORE cannot carry (a payload the target cannot read,
// a target that refuses RESTORE, a key over the target's bulk limit or over --big-key-bytes,
// every key with --mode struct) arrive here from the writers in rebuild batches and are copied
// with type commands (engine/transfer: key_rebuild, rebuild_driver), reading the source again.
//
// Each batch is reported settled, like a writer's part, once every one of its keys is copied,
// vanished, skipped or failed; the writer reported the rest of the part first, marked
// `deferred`, so no checkpoint passes a key still being rebuilt. A batch cut short (the job
// stops) is not reported: its part stays open and a resumed job reads its keys again (their
// temporary keys expire, and a resumed job deletes those of its own job at start).
//
// Thread: one worker thread; the context's router, budget and counters are that thread's.

#include <boost/asio/awaitable.hpp>
#include <string>

#include "engine/cluster/slot_router.hpp"
#include "engine/copy/write_stage.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/transfer/key_rebuild.hpp"

namespace ferry::engine {

/// What the struct stage of one feeder needs besides the writers' context.
struct struct_context {
  /// The writers' context: policy, counters, failed keys, the target's router, warnings.
  write_context& write;
  /// The node keys are read from (the shard's master, or its replica).
  protocol::connection_options source;
  /// What the two servers can do.
  rebuild_caps caps;
  /// Chunk sizes and limits.
  rebuild_sizes sizes;
  /// The job's id: it names the temporary keys, so a resumed job finds its own.
  std::string job_id;
  /// The worker thread's memory bound for struct mode (its share of --max-inflight-bytes).
  byte_budget& budget;
  /// The worker thread's view of the source's slot map: a key a resumed job meets on the
  /// target is compared with the source to tell whether the earlier run wrote it. Null: such
  /// keys follow the policy.
  slot_router* source_map = nullptr;
};

/// Copies every rebuild batch from `in` until the stream ends; reports each settled batch to
/// `settled`.
boost::asio::awaitable<void> rebuild_batches(struct_context& context, rebuild_channel& in,
                                             settled_sink settled);

}  // namespace ferry::engine
