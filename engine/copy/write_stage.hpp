#pragma once
// The writers: the one sink of the target. Whatever feeds them record batches (a shard's
// readers today; sync's re-copy and the RDB importer later) hands them over a record channel,
// and every batch, once settled on the target, leaves as a `settled_part` on the event channel
// (to the ledger, the checkpoint and the inline verifier). A batch that could not be settled
// (the job failed) sends nothing: its part stays open and no checkpoint passes it.
//
// Thread: one worker thread; the context's router, budget and counters are that thread's.

#include <atomic>
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
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

/// Record batches to the writers.
using record_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, record_batch)>;

/// A batch of keys RESTORE cannot carry, handed on by a writer to struct mode.
struct rebuild_batch {
  /// The part's SCAN call (or, for other feeders, the unit their ledger counts).
  std::uint64_t seq = 0;
  /// The keys, as `rebuild` records: no payload (struct mode reads the source again), with the
  /// payload's type byte and size when they were seen, and why.
  std::vector<record> records;
};

/// Rebuild batches from the writers to the struct stage behind them.
using rebuild_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, rebuild_batch)>;

/// How a job writes keys: one object shared by every thread of the job.
struct write_mode {
  /// Struct mode runs behind the writers (otherwise what RESTORE cannot carry fails).
  bool can_rebuild = false;
  /// --mode struct: every key is written with type commands.
  bool force_struct = false;
  /// Set by the first writer whose RESTORE the target refuses as a command (renamed away, not
  /// allowed, a geo-replicated cache): every key after it goes to struct mode, with one warning.
  std::atomic<bool> restore_refused{false};
};

/// The one warning of a job whose target refuses RESTORE (`where`: the node, `answer`: its
/// refusal).
std::string restore_refused_warning(std::string_view where, std::string_view answer);

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
  /// The job's write mode; null: RESTORE only.
  write_mode* mode = nullptr;
  /// Where keys for struct mode go (null: RESTORE only).
  rebuild_channel* rebuild = nullptr;
  /// Messages to show once (the switch to struct mode).
  warning_list* warnings = nullptr;
};

/// Where a writer reports each batch it settled (e.g. onto a shard's event channel); waiting in
/// it is back-pressure on the writer.
using settled_sink = std::function<boost::asio::awaitable<void>(settled_part)>;

/// RESTOREs record batches on the target masters that own their keys' slots, until the stream
/// ends; reports each settled batch to `settled`. Keys RESTORE cannot carry (and `rebuild`
/// records) go on to `context.rebuild` after their batch was reported with `deferred` set.
boost::asio::awaitable<void> write_batches(write_context& context, record_channel& in,
                                           settled_sink settled);

}  // namespace ferry::engine
