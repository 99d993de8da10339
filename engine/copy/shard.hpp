#pragma once
// One source shard's pipeline: scanner → readers → writers, all on one worker thread.
//
// The stages talk only through two bounded channels (key batches, record batches) and the
// thread's byte budget; the ledger records which SCAN cursor is safe to resume from.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "engine/cluster/slot_router.hpp"
#include "engine/copy/batches.hpp"
#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/counters.hpp"
#include "engine/copy/failed_keys.hpp"
#include "engine/copy/scan_ledger.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/runtime/channels.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/rate_limiter.hpp"
#include "engine/topology/slot_watch.hpp"

namespace ferry::engine {

class inline_verifier;

/// Key batches from the scanner to the readers.
using key_channel = boost::asio::experimental::channel<void(boost::system::error_code, key_batch)>;
/// Record batches from the readers to the writers.
using record_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, record_batch)>;

/// Everything the stages of one shard share. Lives on the shard's worker thread.
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
  /// The SCAN cursor to start from (0, or a checkpoint's).
  std::uint64_t start_cursor = 0;
  /// The job resumes an earlier run: a key that exists on the target may be one that run wrote.
  bool resumed = false;
  /// Send READONLY: the source node may be a replica (--read-from replicas, or a failover).
  bool source_readonly = false;
  /// The slots this shard copies; keys of other slots on its node are left to the shards (or
  /// rescans) that own them, so no key is copied twice. Null for every slot.
  std::shared_ptr<const slot_set> slots;
  /// A rescan of moved slots: a key the target already holds may be the first pass's copy.
  bool rescan = false;
  /// This shard's counters.
  shard_counters& counters;
  /// Stop requests and fatal failures of the whole job.
  job_control& control;
  /// Where keys that cannot be copied are recorded.
  failed_keys& failures;
  /// The worker thread's memory bound.
  byte_budget& budget;
  /// The worker thread's view of the target.
  slot_router& router;
  /// Which SCAN cursor is safe to resume from.
  scan_ledger ledger;
  /// The ledger's committed position, for the checkpoint writer on another thread.
  published_position& position;
  /// The job's rate limits (shared by every shard).
  rate_limiter& limiter;
  /// How much slower than full speed the readers go (>= 1), set by the latency probe.
  double slowdown = 1;
  /// Set when the pipeline has finished, so the latency probe stops.
  bool finished = false;
  /// Keys per reader batch, adapted to the observed payload size by the readers.
  std::size_t keys_per_batch = 32;
  /// Reader and writer coroutines of the shard (set by copy_shard).
  unsigned readers = 1;
  unsigned writers = 1;
  /// Readers still running; the last one ends the record stream.
  unsigned readers_running = 0;
  /// Compares what the writers copied (`ferry copy --verify`); null when not asked for.
  inline_verifier* verify = nullptr;
};

/// Records that one part of SCAN call `seq` is settled, and publishes the committed position
/// when it moved.
void settle_part(shard_context& shard, std::uint64_t seq, const counts& settled);
/// Publishes the ledger's committed position (after the scanner closes a call, too).
void publish_position(shard_context& shard);

/// Measures the source's PING round trip and sets `shard.slowdown` (--source-latency-target).
boost::asio::awaitable<void> probe_latency(shard_context& shard);

/// Runs the whole pipeline of one shard until its SCAN is done and every batch is settled, or
/// the job stops.
boost::asio::awaitable<void> copy_shard(shard_context& shard);

/// SCANs the shard and sends its keys in batches, then an end of stream per reader.
boost::asio::awaitable<void> scan_shard(shard_context& shard, key_channel& out);

/// Reads DUMP and expiry for each key batch and sends record batches on.
boost::asio::awaitable<void> read_batches(shard_context& shard, key_channel& in,
                                          record_channel& out);

/// RESTOREs record batches on the target masters that own their keys' slots.
boost::asio::awaitable<void> write_batches(shard_context& shard, record_channel& in);

}  // namespace ferry::engine
