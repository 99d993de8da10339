#pragma once
// One source shard's pipeline, all on one worker thread:
//
//   scanner ──keys──► readers ──records──► writers
//      │                 │                    │
//      └────────────── events ────────────────┴──► commit (ledger, position, inline verifier)
//
// The stages talk only through bounded channels. The scanner announces each SCAN call (its
// cursor and how many parts it was cut into) on the event channel before it hands the parts to
// the readers; readers and writers report each part once it is settled (vanished, failed,
// written). The commit stage is the only owner of the scan ledger: it commits a cursor once
// every part before it is settled, publishes the position for the checkpoint, and hands what
// the writers copied to the inline verifier.
//
// Two values are shared on the thread instead of sent, each with one documented writer:
// `sizing` (the readers report payload sizes, the scanner cuts parts by it) and `pace` (the
// latency probe sets it, the readers wait by it).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "engine/cluster/slot_router.hpp"
#include "engine/copy/batch_sizer.hpp"
#include "engine/copy/batches.hpp"
#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/read_path.hpp"
#include "engine/copy/scan_ledger.hpp"
#include "engine/copy/shard_meters.hpp"
#include "engine/copy/source_commands.hpp"
#include "engine/copy/struct_stage.hpp"
#include "engine/copy/write_stage.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/runtime/channels.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/topology/slot_watch.hpp"
#include "engine/verify/verifier.hpp"

namespace ferry::engine {

class inline_verifier;

/// Key batches from the scanner to the readers.
using key_channel = boost::asio::experimental::channel<void(boost::system::error_code, key_batch)>;

/// The scanner made SCAN call `seq`: what follows it, and into how many parts it cut the keys.
struct scan_call {
  /// Sequence number of the call.
  std::uint64_t seq = 0;
  /// The cursor SCAN returned (0 when the scan is over).
  std::uint64_t next_cursor = 0;
  /// Keys it returned (after the slot filter).
  std::uint64_t keys = 0;
  /// Parts handed to the readers.
  std::size_t parts = 0;
};

/// What the commit stage hears.
using shard_event = std::variant<scan_call, settled_part>;
/// Events from every stage to the commit stage.
using event_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, shard_event)>;

/// How fast the readers may go: set by the latency probe alone (--source-latency-target), read
/// by the readers.
struct source_pace {
  /// How much slower than full speed the readers go (>= 1).
  double slowdown = 1;
};

/// Everything the stages of one shard are given. Lives on the shard's worker thread.
struct shard_context {
  /// The job.
  const copy_config& config;
  /// Position among the job's shards.
  std::size_t index = 0;
  /// The source master's address, for messages and reports.
  std::string label;
  /// How to connect to the source master (db applied).
  protocol::connection_options source;
  /// Read expiry with PEXPIRETIME (Redis >= 7) rather than PTTL.
  bool use_pexpiretime = true;
  /// GET first or DUMP first, batch by batch (read_path.hpp).
  read_path_chooser paths{false};
  /// The commands sent to the source, for the report (shared by the job's shards).
  source_commands& commands;
  /// The SCAN cursor to start from (0, or a checkpoint's).
  std::uint64_t start_cursor = 0;
  /// An earlier run finished the scan: nothing to scan (a copy extension's shard).
  bool scanned = false;
  /// The slots this shard copies; keys of other slots on its node are left to the shards (or
  /// rescans) that own them, so no key is copied twice. Null for every slot.
  std::shared_ptr<const slot_set> slots;
  /// This shard's counters.
  shard_counters& counters;
  /// Stop requests and fatal failures of the whole job.
  job_control& control;
  /// Where keys that cannot be copied are recorded.
  failed_keys& failures;
  /// The worker thread's memory bound.
  byte_budget& budget;
  /// The job's rate limits (shared by every shard).
  rate_limiter& limiter;
  /// Messages to show once, from every shard.
  warning_list& warnings;
  /// What the writers need (the worker thread's target view, the existing-key policy, ...).
  write_context write;
  /// Which SCAN cursor is safe to resume from: owned by the commit stage.
  scan_ledger ledger;
  /// The ledger's committed position, for the checkpoint writer on another thread.
  published_position& position;
  /// Compares what the writers copied (`ferry copy --verify`); null when not asked for.
  inline_verifier* verify = nullptr;
  /// Keys per reader batch: the readers report payload sizes, the scanner reads it.
  batch_sizer sizing;
  /// Set by the latency probe, read by the readers.
  source_pace pace;
  /// Set once the pipeline has finished, so the latency probe stops.
  bool finished = false;
  /// Read latencies and the source links' retries and reconnects, for the metrics endpoint;
  /// null for none.
  shard_meters* meters = nullptr;
  /// Payloads over this are never held whole: struct mode copies them in chunks
  /// (--big-key-bytes; at most the thread's budget).
  std::size_t big_key_bytes = std::size_t{8} << 20;
  /// Struct mode: what the servers can do and the chunk sizes.
  rebuild_caps caps;
  /// Struct mode's chunk sizes and limits.
  rebuild_sizes sizes;
  /// The job's id (it names struct mode's temporary keys).
  std::string job_id;
  /// The worker thread's budget for struct mode; null when struct mode does not run.
  byte_budget* struct_budget = nullptr;
  /// The worker thread's view of the source's slot map (struct mode's checks of keys a resumed
  /// job meets); may be null.
  slot_router* source_map = nullptr;
  /// Where the record batches go instead of the target's writers (`ferry export` writes them to
  /// a file): run `config.tune.writers_per_shard` times, like the writers, and ends when the
  /// channel does. Empty: the writers (`write`).
  std::function<boost::asio::awaitable<void>(record_channel&, settled_sink)> sink;
};

/// Runs the whole pipeline of one shard until its SCAN is done and every batch is settled, or
/// the job stops.
boost::asio::awaitable<void> copy_shard(shard_context& shard);

/// SCANs the shard and sends its keys in parts; announces each call on `events` first.
boost::asio::awaitable<void> scan_shard(shard_context& shard, key_channel& out,
                                        event_channel& events, unsigned readers);

/// Reads DUMP and expiry for each key batch and sends record batches on; parts with nothing to
/// write are reported settled on `events`.
boost::asio::awaitable<void> read_batches(shard_context& shard, key_channel& in,
                                          record_channel& out, event_channel& events);

/// Measures the source's PING round trip and sets `shard.pace` (--source-latency-target).
boost::asio::awaitable<void> probe_latency(shard_context& shard);

}  // namespace ferry::engine
