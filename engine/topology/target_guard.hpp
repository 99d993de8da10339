#pragma once
// Knowing that the target still holds what a job wrote there. A target node that restarts
// (kill -9, a crash, a failover to a replica that was behind) may come back empty, or with the
// data of its last snapshot, and nothing in its answers says which keys it lost. So a job marks
// the target and checks the marks:
//
// - **Marks.** Small string keys under a reserved name, `ferry:mark:{TAG}:JOB` (TAG puts the key
//   in a chosen slot, JOB is the job's id), one in the first slot of every target master of a
//   cluster, sixteen spread over the slots of a target that is one endpoint (a standalone server,
//   or a proxy such as Azure Managed Redis's Enterprise policy, whose internal shards ferry cannot
//   see). Each holds a *generation*: before the job saves a state file, it writes the next
//   generation into every mark, after every key that the state file covers was acknowledged.
//   Redis executes commands in order, so a node that still holds generation G holds every key
//   written before G was; one that holds less (or no mark) lost keys written since.
// - **Identity.** The run id of the node holding each mark (INFO server). A change means a
//   restart or a failover: the mark is then read, and the lowest generation found is what the
//   target is known to hold in full.
// - At the end of a complete job the marks are deleted, so the target holds the source's keys
//   and nothing else.
//
// Thread: the job's calling thread (it blocks on its own io_context, where its connections to
// the target's nodes stay open between looks).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/runtime/reserved_keys.hpp"
#include "engine/runtime/result.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// One mark and the node that held it when last looked at.
struct target_mark {
  /// The mark's key name.
  std::string key;
  /// Its slot.
  std::uint16_t slot = 0;
  /// "host:port" of the master owning the slot at the last look.
  std::string node;
  /// That node's run id at the last look.
  std::string run_id;
};

/// What a look found wrong.
struct target_loss {
  /// The node that restarted or took over, "host:port".
  std::string node;
  /// The highest generation the whole target is known to hold (0: none — a mark was gone).
  std::uint64_t holds = 0;
  /// A sentence for people: which node, what happened, what it still holds.
  std::string description;
};

/// See the file comment.
class target_guard {
 public:
  /// Guards the target reached through `seed`, whose slot map is `map`, for job `job_id`.
  /// Marks are placed by the map (see the file comment); `known` (from a state file) gives the
  /// nodes and run ids seen when that file was written, empty for a fresh job.
  target_guard(protocol::connection_options seed, protocol::topology map, std::string job_id,
               std::vector<target_mark> known = {});
  ~target_guard();
  target_guard(const target_guard&) = delete;
  target_guard& operator=(const target_guard&) = delete;

  /// Writes `generation` into every mark (and learns each holder's run id). Fails when any mark
  /// could not be written (the node named): a state file must then not claim more than the
  /// previous generation.
  maybe<void> mark(std::uint64_t generation);

  /// Looks at every mark's node. For each whose run id changed since the last look (a restart or
  /// a failover), reads the mark: a loss when it is missing or older than `expected`. Nothing
  /// when the target holds all it held. Fails only when the target cannot be reached.
  maybe<std::optional<target_loss>> check(std::uint64_t expected);

  /// Deletes the marks (a complete job). Best effort: a failure is returned for a warning.
  maybe<void> unmark();

  /// The marks and their holders as last seen, for the state file.
  const std::vector<target_mark>& marks() const noexcept { return marks_; }

 private:
  boost::asio::awaitable<maybe<protocol::connection*>> node(const protocol::endpoint& where);
  /// Runs `commands` on `where` (every one of them idempotent). A kept connection that the
  /// server closed since its last use (CLIENT KILL, an idle timeout, a proxy's restart) is found
  /// broken only now: it is opened again once.
  boost::asio::awaitable<maybe<void>> exec_at(const protocol::endpoint& where,
                                              protocol::command_buffer& commands,
                                              std::vector<protocol::reply>& replies);
  boost::asio::awaitable<maybe<void>> refresh_owners();
  boost::asio::awaitable<maybe<std::string>> run_id_of(const std::string& address);
  boost::asio::awaitable<maybe<std::vector<protocol::reply>>> on_owner(
      const target_mark& mark, protocol::command_buffer& commands);
  boost::asio::awaitable<maybe<void>> write_marks(std::uint64_t generation);
  boost::asio::awaitable<maybe<std::optional<target_loss>>> look(std::uint64_t expected);
  boost::asio::awaitable<maybe<void>> delete_marks();
  template <class T>
  T run(boost::asio::awaitable<T> task);

  protocol::connection_options seed_;
  protocol::topology map_;
  std::vector<target_mark> marks_;
  boost::asio::io_context io_{1};
  std::map<std::string, std::unique_ptr<protocol::connection>> open_;  // by "host:port"
};

/// The marks a job `job_id` puts on a target with slot map `map` (see the file comment).
std::vector<target_mark> marks_for(const protocol::topology& map, const std::string& job_id);

/// A fresh job id: 16 random hex digits.
std::string new_job_id();

}  // namespace ferry::engine
