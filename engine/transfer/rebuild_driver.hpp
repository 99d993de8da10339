#pragma once
// Runs rebuild machines (key_rebuild.hpp) in pipelined rounds: in each round every key that
// wants the source sends its next step there, grouped by node, and at the same time every key
// that wants the target sends its step to the master owning its slot, so small keys move a
// batch at a time and big ones a chunk at a time, side by side.
//
// Source steps run on the node the keys are read from (a shard's master or replica); MOVED and
// ASK are followed from there and "not now" is waited out (redirect_round). Target steps go to
// the owner of the key's slot in the worker thread's map; a key the target redirects, refuses
// for now or loses a connection over starts again (the machine decides), after a map refresh
// or a pause.
//
// Memory: before a source step the driver reserves what its replies may hold
// (`next_read_bytes()`) in its byte budget, and the replies keep no more (bulk strings past the
// reservation come back skipped and the machine asks again, smaller); a key gives its
// reservation back once what it read is written.
//
// Thread: one worker thread; one run at a time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/cluster/link.hpp"
#include "engine/cluster/node_links.hpp"
#include "engine/cluster/redirect_round.hpp"
#include "engine/cluster/slot_router.hpp"
#include "engine/runtime/backoff.hpp"
#include "engine/runtime/byte_budget.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/transfer/key_rebuild.hpp"

namespace ferry::engine {

/// See the file comment.
class rebuild_driver {
 public:
  /// A driver reading from the node `source` describes and writing through `target` (the
  /// worker thread's router), reserving memory in `budget`.
  rebuild_driver(boost::asio::any_io_executor executor, protocol::connection_options source,
                 slot_router& target, const tuning& tune, job_control& control,
                 byte_budget& budget);

  /// Runs every key to its end (see each one's outcome()). Fails when a side stays unreachable
  /// past --max-retry-time, when the job stops (keys not done are then left as they are), or
  /// with a key whose outcome is fatal.
  boost::asio::awaitable<outcome> run(std::span<key_rebuild> keys);

  /// Connection retries and re-sent steps since the driver was made.
  std::uint64_t retries() const;

 private:
  boost::asio::awaitable<outcome> source_round(std::span<key_rebuild> keys,
                                               std::vector<std::uint32_t> which);
  boost::asio::awaitable<outcome> target_round(std::span<key_rebuild> keys,
                                               std::vector<std::uint32_t> which);
  void settle_charge(key_rebuild& key, std::uint32_t index);

  boost::asio::any_io_executor executor_;
  slot_router& router_;
  const tuning& tune_;
  job_control& control_;
  byte_budget& budget_;
  link source_;
  node_links redirected_;  // source nodes named by MOVED/ASK
  node_links targets_;
  redirect_round source_rounds_;
  backoff target_pause_;
  std::vector<std::size_t> charged_;  // per key of the run: bytes reserved in the budget
  protocol::command_buffer source_commands_, target_commands_;
  std::vector<protocol::reply> source_replies_, target_replies_;
  std::vector<protocol::reply> mine_;  // one key's replies without ASKING's
  std::uint64_t restarts_ = 0;
};

}  // namespace ferry::engine
