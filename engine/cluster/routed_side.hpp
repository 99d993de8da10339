#pragma once
// Keyed commands on whichever node of one side (source or target) owns each key.
//
// A `routed_side` groups the keys of a call by the master that owns their slot, pipelines each
// group on a connection to that master, and settles every key: a -MOVED reply refreshes the slot
// map and sends the key again, -ASK sends it with ASKING to the named node, and the retryable
// replies (TRYAGAIN, LOADING, BUSY, CLUSTERDOWN, MASTERDOWN) are tried again after a backoff. Any
// other reply, error replies included, is the caller's to judge. A standalone server is a map
// with one master, so callers need not tell the two apart.
//
// Only commands that may safely run twice belong here (reads, RESTORE ... REPLACE, DEL): after a
// broken connection a whole group is sent again.
//
// Thread: one worker thread; not thread-safe. One call at a time.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/cluster/node_links.hpp"
#include "engine/cluster/redirect_round.hpp"
#include "engine/cluster/slot_router.hpp"
#include "protocol/wire/bytes.hpp"
#include "protocol/wire/command.hpp"
#include "protocol/wire/reply.hpp"
#include "protocol/wire/resp_reader.hpp"

namespace ferry::engine {

/// Appends the commands for key `index` (always the same number per key) to `commands`.
using key_encoder = std::function<void(std::size_t index, protocol::command_buffer& commands)>;

/// Unkeyed commands a call sends on each node's connection before and after the keys it sends
/// there (not around keys sent with ASKING), so that what they answer holds for the keys between
/// them: e.g. the INFO samples of expiry_probe.hpp. Each command is its words.
struct node_bracket {
  std::vector<std::vector<std::string>> before;
  std::vector<std::vector<std::string>> after;
};

/// What one node answered around the keys whose replies it gave.
struct bracket_answer {
  /// The keys (indices into the call's keys) whose replies came from this node's pipeline.
  std::vector<std::uint32_t> keys;
  /// The replies to node_bracket's commands; both empty for keys sent with ASKING.
  std::vector<protocol::reply> before;
  std::vector<protocol::reply> after;
};

/// See the file comment.
class routed_side {
 public:
  /// A side routed by `router` (shared by the worker thread's users of that side); `role`
  /// ("source" or "target") names it in messages.
  routed_side(boost::asio::any_io_executor executor, slot_router& router, const tuning& tune,
              job_control& control, std::string role);

  /// Runs `per_key` commands for every key (encoded by `encode`) on the node that owns it.
  /// `replies` gets keys.size() * per_key replies, key by key in the order of `keys`. Fails only
  /// when a node stays unreachable or refuses for good (the failure names the side and node).
  boost::asio::awaitable<outcome> run(std::span<const protocol::bytes> keys, std::size_t per_key,
                                      const key_encoder& encode,
                                      std::vector<protocol::reply>& replies);

  /// run(), with `bracket`'s commands around the keys on each node's connection; `answers` gets
  /// one entry per pipeline sent, with the keys that pipeline settled (a key redirected
  /// elsewhere is settled by a later one); none when the bracket is empty.
  boost::asio::awaitable<outcome> run(std::span<const protocol::bytes> keys, std::size_t per_key,
                                      const key_encoder& encode,
                                      std::vector<protocol::reply>& replies,
                                      const node_bracket& bracket,
                                      std::vector<bracket_answer>& answers);

  /// The same for one key.
  boost::asio::awaitable<outcome> run_one(const protocol::bytes& key, std::size_t per_key,
                                          const key_encoder& encode,
                                          std::vector<protocol::reply>& replies);

  /// Waits `duration` unless the job stops first (a drain must not wait out a long re-check
  /// pause); false when it stopped.
  boost::asio::awaitable<bool> pause(std::chrono::milliseconds duration);

  /// Which bulk strings the replies of later calls keep (protocol::bulk_keeping: a bulk string
  /// not kept comes back as a `skipped` reply with its length); every one until this is called.
  /// A caller that narrows it sets it back to `{}` after its call.
  void keep_bulks(protocol::bulk_keeping keeping) noexcept { keeping_ = keeping; }

  /// "source" or "target".
  const std::string& role() const noexcept { return role_; }
  /// The database the side's connections select.
  int db() const noexcept { return router_.seed().where.db; }
  /// The slot map this side routes by.
  const protocol::topology& map() const noexcept { return router_.map(); }
  /// Connection retries and re-sent keys since this object was made.
  std::uint64_t retries() const;

 private:
  boost::asio::awaitable<outcome> run_keys(std::span<const protocol::bytes> keys,
                                           std::size_t per_key, const key_encoder& encode,
                                           std::vector<protocol::reply>& replies,
                                           const node_bracket* bracket,
                                           std::vector<bracket_answer>* answers);
  boost::asio::awaitable<outcome> run_group(const round_group& group, std::size_t per_key,
                                            const key_encoder& encode,
                                            std::vector<protocol::reply>& replies,
                                            const node_bracket* bracket,
                                            std::vector<bracket_answer>* answers);

  boost::asio::any_io_executor executor_;
  slot_router& router_;
  job_control& control_;
  std::string role_;
  redirect_round round_;
  node_links links_;
  protocol::command_buffer commands_;
  std::vector<protocol::reply> node_replies_;
  protocol::bulk_keeping keeping_;
  std::uint64_t resent_ = 0;
};

}  // namespace ferry::engine
