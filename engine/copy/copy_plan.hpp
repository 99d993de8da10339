#pragma once
// Everything a copy checks and decides before its first key moves: both sides, the shards to
// scan (masters, or their replicas), each shard's node identity and size, the non-empty-target
// rule, and where each shard resumes from a state file.

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/cluster/sides.hpp"
#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/copy/slot_split.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

/// One source shard as the job will run it.
struct shard_plan {
  /// The node scanned and read: the master, or its replica with --read-from replicas.
  protocol::endpoint node;
  /// The node's cluster id (empty for a standalone server).
  std::string node_id;
  /// The node's run_id (identifies the process, hence the meaning of its SCAN cursors).
  std::string run_id;
  /// DBSIZE when the job started.
  std::uint64_t estimate = 0;
  /// Where it starts: cursor 0, or a state file's position for the same node and process.
  shard_position start;
  /// True when `start` came from the state file.
  bool from_state = false;
  /// The slots its scan copies: those the node serves (within --slots), and when resumed only
  /// those its saved scan was already copying.
  slot_set slots;
};

/// The part of a split migration a job copies (--shard-index/--shard-count).
struct part_plan {
  /// Which part.
  slot_part part;
  /// Its slots (within --slots).
  slot_set slots;
  /// The source masters it reads, "host:port", in slot order.
  std::vector<std::string> masters;
  /// True when it takes those masters whole (see slot_split.hpp).
  bool whole_masters = true;
  /// True when the slots came from the state file (computed by the part's first run).
  bool from_state = false;
};

/// The decided job.
struct copy_plan {
  /// Source and target settings and facts.
  inspected_sides sides;
  /// The shards, in the source's slot order.
  std::vector<shard_plan> shards;
  /// What identifies the job in a state file.
  job_identity identity;
  /// Slots known to have moved, to rescan once the shards are done: those the state file says
  /// await a rescan, and those that moved to another node since it was written.
  slot_set moved;
  /// The source's databases other than the one copied that hold keys (INFO keyspace): they are
  /// left behind, and the job says so.
  std::vector<protocol::keyspace_entry> other_dbs;
  /// A split job's part; nothing for a job that is not split.
  std::optional<part_plan> part;
};

/// The identity of the job `config` describes.
job_identity identity_of(const copy_config& config);

/// Inspects both sides and plans the shards. With `previous` (a state file being resumed), each
/// shard whose node and process are the same starts from its saved position (slots it gained
/// since are marked moved), and the non-empty-target rule is waived: the target holds the
/// earlier run's keys.
boost::asio::awaitable<maybe<copy_plan>> plan_copy(const copy_config& config,
                                                   const checkpoint* previous);

/// The shards of `plan` whose node now answers with another run id than when the plan was made:
/// it restarted (or another process took its address), so the SCAN cursor its scan went on
/// with meant nothing to the process that answered it. A node that does not answer is not
/// counted: its scanner and readers report it themselves.
boost::asio::awaitable<std::vector<std::size_t>> restarted_shards(const copy_plan& plan);

}  // namespace ferry::engine
