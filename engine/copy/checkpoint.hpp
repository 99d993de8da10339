#pragma once
// The state file of a long-lived copy (--state): per shard, the SCAN cursor up to which every key
// is settled on the target, what was done up to it, and the identity of the job and of each
// source node, so that --resume continues exactly where it is safe to.

#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/copy/counters.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/topology/slot_watch.hpp"
#include "engine/topology/target_guard.hpp"
#include "protocol/wire/endpoint.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

/// Where a shard stands: safe to resume from, and the counts that go with it.
struct shard_position {
  /// SCAN cursor after the last call whose keys are all settled.
  std::uint64_t cursor = 0;
  /// True when the shard's SCAN is finished and every key settled.
  bool complete = false;
  /// Counts of the settled calls (including earlier runs').
  counts done;
};

/// A shard's position, written by its worker thread and read by the checkpoint writer.
class published_position {
 public:
  /// Replaces the position (worker thread).
  void set(const shard_position& position) {
    std::lock_guard lock(mutex_);
    position_ = position;
  }
  /// A copy of the position (any thread).
  shard_position get() const {
    std::lock_guard lock(mutex_);
    return position_;
  }

 private:
  mutable std::mutex mutex_;
  shard_position position_;
};

/// What makes two runs the same job. Resuming a different job could skip keys, so it is refused.
/// It is what the job is, not how it was written: no user name or password, however given.
struct job_identity {
  /// Source seed as "redis[s]://host:port/db" (see endpoint_identity).
  std::string source;
  /// Target seed, likewise.
  std::string target;
  /// --match.
  std::string match;
  /// --type.
  std::string type;
  /// --slots, as "a-b"; empty for all.
  std::string slots;
  /// --shard-index/--shard-count, as "I/N"; empty for a job that is not split.
  std::string part;

  /// Equality of every field.
  friend bool operator==(const job_identity&, const job_identity&) = default;
};

/// One source shard in the state file.
struct shard_state {
  /// "host:port" of the source node scanned.
  std::string address;
  /// Its cluster node id (empty for a standalone server).
  std::string node_id;
  /// Its run_id: a SCAN cursor means nothing to another process (hash seeds differ).
  std::string run_id;
  /// Where it stands.
  shard_position position;
  /// The slots its scan copies (what the node owned when the scan began); none in state files
  /// written before ferry followed resharding.
  std::optional<slot_set> slots;
};

/// The whole state file.
struct checkpoint {
  /// Format version (2: with the job id, the target's marks and their generation).
  int version = 2;
  /// The job.
  job_identity job;
  /// The job's id, which names its marks on the target (target_guard.hpp); empty in version 1.
  std::string job_id;
  /// The generation written into every mark before this file was: the target holds every key
  /// this file covers while its marks hold at least this (0: none written yet).
  std::uint64_t generation = 0;
  /// The marks and the nodes (with run ids) that held them when the file was written.
  std::vector<target_mark> marks;
  /// Every shard.
  std::vector<shard_state> shards;
  /// "running", "complete", "interrupted" or "failed".
  std::string status = "running";
  /// Slots that moved during a scan and still await their rescan.
  slot_set moved;
  /// What a job built on the copy keeps beside it (copy_extension::state(): `ferry sync`'s
  /// phase, events, lag and gaps), a JSON object as text; empty for none.
  std::string extension;
  /// A split job's part, as computed when the job first started: a resumed part keeps these
  /// slots even if the source's masters changed meanwhile (the parts stay disjoint).
  std::optional<slot_set> part_slots;
};

/// The checkpoint as JSON (cursors as strings: they are unsigned 64-bit).
nlohmann::json to_json(const checkpoint& state);
/// Reads a checkpoint from JSON; the error says which field is wrong.
boost::system::result<checkpoint, std::string> checkpoint_from_json(const nlohmann::json& json);

/// Writes `state` to `path` atomically: a temporary file in the same directory, fsync, rename,
/// fsync of the directory. A crash leaves the old file or the new one, never half of one.
boost::system::result<void, std::string> save_checkpoint(const std::string& path,
                                                         const checkpoint& state);
/// Reads the state file; the error names the file and what is wrong with it.
boost::system::result<checkpoint, std::string> load_checkpoint(const std::string& path);

/// The state file a job starts from: none without --state; with --state and no --resume, none,
/// after making sure no earlier job's file would be overwritten; with --resume, the file loaded,
/// once `belongs` (empty when it does) has no objection to it. `job` names the kind of job in
/// the messages ("job", "import").
maybe<std::optional<checkpoint>> load_previous_state(
    const checkpointing& state, std::string_view job,
    const std::function<std::optional<std::string>(const checkpoint&)>& belongs);

/// How an endpoint identifies a job: scheme, host, port and database, never the user or the
/// password (moving a password from the URL to a file is the same job).
std::string endpoint_identity(const protocol::endpoint& where);

/// `text` as endpoint_identity() writes it, also when it is an older state file's redacted URL
/// ("redis://user:***@host:6379/2"); unchanged when it is not a URL.
std::string normalized_identity(const std::string& text);

/// A sentence naming the fields in which `a` and `b` differ ("source: A vs B; ...").
std::string describe_differences(const job_identity& a, const job_identity& b);

}  // namespace ferry::engine
