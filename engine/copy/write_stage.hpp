#pragma once
// The writers: the one sink of the target. Whatever feeds them record batches (a shard's
// readers today; sync's re-copy and the RDB importer later) hands them over a record channel,
// and every batch, once settled on the target, leaves as a `settled_part` on the event channel
// (to the ledger, the checkpoint and the inline verifier). A batch that could not be settled
// (the job failed) sends nothing: its part stays open and no checkpoint passes it.
//
// Thread: one worker thread; the context's router, budget and counters are that thread's.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <cstddef>
#include <functional>
#include <string>

#include "engine/cluster/slot_router.hpp"
#include "engine/copy/batches.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/shard_meters.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/runtime/job_control.hpp"

namespace ferry::engine {

/// Record batches to the writers.
using record_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, record_batch)>;

/// What the writers of one feeder share.
struct write_context {
  /// Timeouts and retry time.
  const tuning& tune;
  /// Keys that exist on the target.
  existing_policy policy = existing_policy::unset;
  /// The job resumes an earlier run: a key that exists on the target may be one that run wrote.
  bool resumed = false;
  /// A rescan of moved slots: a key the target already holds may be the first pass's copy.
  bool rescan = false;
  /// Position among the job's shards (spreads retry jitter).
  std::size_t index = 0;
  /// Who feeds them ("host:port" of the source master), for the failed-keys file.
  std::string label;
  /// The feeder's counters.
  shard_counters& counters;
  /// Stop requests and fatal failures of the whole job.
  job_control& control;
  /// Where keys that cannot be copied are recorded.
  failed_keys& failures;
  /// The worker thread's memory bound: each batch's charge is given back once it is written.
  byte_budget& budget;
  /// The worker thread's view of the target.
  slot_router& router;
  /// Fraction of copied keys handed to the inline verifier; 0 when it does not run.
  double verify_sample = 0;
  /// Write latencies and the target links' retries and reconnects, for the metrics endpoint;
  /// null for none.
  shard_meters* meters = nullptr;
};

/// Where a writer reports each batch it settled (e.g. onto a shard's event channel); waiting in
/// it is back-pressure on the writer.
using settled_sink = std::function<boost::asio::awaitable<void>(settled_part)>;

/// RESTOREs record batches on the target masters that own their keys' slots, until the stream
/// ends; reports each settled batch to `settled`.
boost::asio::awaitable<void> write_batches(write_context& context, record_channel& in,
                                           settled_sink settled);

}  // namespace ferry::engine
