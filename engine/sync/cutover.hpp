#pragma once
// The I/O of a cut-over (`ferry sync --cutover`): pause the source's writes on every master with
// CLIENT PAUSE <timeout> WRITE (Redis >= 6.2; the server lifts the pause by itself once the
// timeout passes, even if ferry is gone), wait until each replica that ferry reads has applied
// everything its master had when it paused (--read-from replicas), compare a sample of keys
// once everything is drained, and unpause when the cut-over cannot finish in time. The steps are
// driven by the job's ticks (sync_extension.cpp), which fences the shards and waits for them in
// between.
//
// Thread: the job's calling thread (blocking, on a private io_context).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/verify/key_compare.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// A master to pause and, reading from replicas, the replica that must catch up with it.
struct cutover_node {
  /// The master.
  protocol::connection_options master;
  /// The replica ferry subscribes to and reads (none when it reads the master).
  std::optional<protocol::connection_options> replica;
};

/// What a final sample comparison found.
struct sample_result {
  /// Keys compared.
  std::uint64_t compared = 0;
  /// Keys that differ (described in `first`).
  std::uint64_t differing = 0;
  /// The first difference, for the message.
  std::string first;
};

/// See the file comment.
class cutover_io {
 public:
  /// Pauses and watches `nodes`; the sample compares through the sides' seeds and maps.
  cutover_io(std::vector<cutover_node> nodes, protocol::connection_options source_seed,
             protocol::topology source_map, protocol::connection_options target_seed,
             protocol::topology target_map, const tuning& tune, compare_options compare);
  ~cutover_io();
  cutover_io(const cutover_io&) = delete;
  cutover_io& operator=(const cutover_io&) = delete;

  /// CLIENT PAUSE `timeout` WRITE on every master. On a refusal the masters already paused are
  /// unpaused and the failure names the node.
  maybe<void> pause(std::chrono::milliseconds timeout);
  /// True once every replica has applied what its master had when paused.
  maybe<bool> replicas_caught_up();
  /// CLIENT UNPAUSE on every master; a warning per master that could not be unpaused.
  std::vector<std::string> unpause();
  /// Compares up to `per_master` random keys of each master (RANDOMKEY) that `in_scope` accepts:
  /// type, expiry (within the comparison's tolerance) and value (DUMP digests, or element by
  /// element where they differ). Only reads: nothing a write pause blocks.
  maybe<sample_result> compare_sample(std::size_t per_master,
                                      const std::function<bool(std::string_view)>& in_scope);

 private:
  template <class T>
  T run(boost::asio::awaitable<T> task);
  boost::asio::awaitable<maybe<protocol::connection*>> open(const protocol::connection_options& o);

  std::vector<cutover_node> nodes_;
  protocol::connection_options source_seed_, target_seed_;
  protocol::topology source_map_, target_map_;
  const tuning& tune_;
  compare_options compare_;
  std::map<std::string, std::uint64_t> offsets_;  // each master's offset when paused
  boost::asio::io_context io_{1};
  std::map<std::string, std::unique_ptr<protocol::connection>> open_;  // by "host:port"
};

}  // namespace ferry::engine
