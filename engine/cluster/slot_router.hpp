#pragma once
// The target's slot map as one worker thread knows it, refreshed after MOVED replies.
//
// Thread: one worker thread; not thread-safe (each thread has its own router: share nothing).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/cluster/link.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// See the file comment.
class slot_router {
 public:
  /// A router starting from `initial`, able to re-ask the node `seed` describes.
  slot_router(boost::asio::any_io_executor executor, protocol::connection_options seed,
              protocol::topology initial, const tuning& tune, job_control& control);

  /// The current slot map.
  const protocol::topology& map() const noexcept { return map_; }
  /// Bumped by every refresh, so holders of per-node connections know to re-match them.
  std::uint64_t version() const noexcept { return version_; }

  /// Asks the cluster for its slot map again; callers that arrive during a refresh wait for it.
  boost::asio::awaitable<outcome> refresh();

  /// Why the target cannot take an argument of `size` bytes (its proto-max-bulk-len, learned from
  /// a refusal: CONFIG GET is not asked for, as ferry's user should not need it and managed
  /// services refuse it); empty when it may. Checked before a RESTORE is sent, because Redis
  /// closes the connection after refusing one, losing the rest of the pipeline.
  std::string refuses_bulk(std::size_t size) const;
  /// Remembers that the target refused an argument of `size` bytes as over its bulk limit, so
  /// payloads as large are not sent again.
  void note_refused_bulk(std::size_t size) noexcept {
    if (refused_bulk_ == 0 || size < refused_bulk_) refused_bulk_ = size;
  }

  /// Connection settings of the seed: a node of the map is reached with these, its host and
  /// port replaced (protocol::at_node).
  const protocol::connection_options& seed() const noexcept { return seed_; }

 private:
  boost::asio::any_io_executor executor_;
  protocol::connection_options seed_;
  const tuning& tune_;
  job_control& control_;
  protocol::topology map_;
  std::uint64_t version_ = 0;
  std::uint64_t refused_bulk_ = 0;  // smallest argument the target refused; 0 for none
  bool refreshing_ = false;
  boost::asio::steady_timer refreshed_;
};

}  // namespace ferry::engine
