#pragma once
// What a job built on the copy adds to it. `ferry sync` is a copy whose shards subscribe to
// keyspace events before they scan, whose passes do not end with their scans (a streaming stage
// runs beside each shard's pipeline until the job ends), that covers moved slots itself instead
// of rescanning them, and that keeps its own state in the state file. A plain copy has none.
//
// The hooks are small on purpose: the copy keeps its plan, passes, commit stage, checkpoint and
// target marks; an extension only adds flows and decisions at these points. Each member says
// which thread calls it.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "engine/copy/checkpoint.hpp"
#include "engine/copy/copy_plan.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/result.hpp"

namespace ferry::engine {

struct shard_context;

/// See the file comment.
class copy_extension {
 public:
  virtual ~copy_extension() = default;

  /// The job's calling thread, once the copy is planned (`previous` is the state file resumed,
  /// or null) and before anything is written to the target. A failure stops the job there.
  /// `control` is the job's: the extension may stop it later (from tick()).
  virtual maybe<void> prepare(const copy_plan& plan, const checkpoint* previous,
                              job_control& control) = 0;

  /// The worker thread of `shard`: awaited before its first SCAN (and before a shard whose scan
  /// an earlier run finished would have scanned). False: the shard does not scan.
  virtual boost::asio::awaitable<bool> before_scan(shard_context& shard) = 0;

  /// The worker thread of `shard`: a flow run beside the shard's pipeline, which may outlive it;
  /// the pass ends when every shard's pipeline and flow have ended.
  virtual boost::asio::awaitable<void> beside(shard_context& shard) = 0;

  /// The job's calling thread, at every tick of the pass (state saves, looks at the source).
  virtual void tick() = 0;
  /// How far apart the ticks may be at most.
  virtual std::chrono::milliseconds tick_interval() const = 0;

  /// The job's calling thread: the source cluster moved `slots` while they were scanned. The
  /// extension covers them; the copy does not rescan them.
  virtual void moved(const slot_set& slots) = 0;

  /// The job's calling thread: what the extension keeps in each state file (a JSON object as
  /// text, read back by prepare() on --resume); empty for nothing.
  virtual std::string state() const = 0;

  /// The job's calling thread, at the end: true to keep the target's marks (the extension's job
  /// is not over, e.g. a sync stopped before cut-over that --resume continues).
  virtual bool keep_marks() const = 0;
};

}  // namespace ferry::engine
