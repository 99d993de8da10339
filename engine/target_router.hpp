#pragma once
// The target's slot map as one worker thread knows it, refreshed after MOVED replies.
//
// Thread: one worker thread; not thread-safe (each thread has its own router: share nothing).

#include <cstdint>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/link.hpp"
#include "protocol/topology.hpp"

namespace ferry::engine {

/// See the file comment.
class target_router {
 public:
  /// A router starting from `initial`, able to re-ask the node `seed` describes.
  target_router(boost::asio::any_io_executor executor, protocol::connection_options seed,
                protocol::topology initial, const tuning& tune, job_control& control);

  /// The current slot map.
  const protocol::topology& map() const noexcept { return map_; }
  /// Bumped by every refresh, so holders of per-node connections know to re-match them.
  std::uint64_t version() const noexcept { return version_; }

  /// Asks the cluster for its slot map again; callers that arrive during a refresh wait for it.
  boost::asio::awaitable<outcome> refresh();

  /// Connection settings for a node of the map (the seed's TLS, credentials and timeouts).
  protocol::connection_options options_for(const protocol::endpoint& node) const;

 private:
  boost::asio::any_io_executor executor_;
  protocol::connection_options seed_;
  const tuning& tune_;
  job_control& control_;
  protocol::topology map_;
  std::uint64_t version_ = 0;
  bool refreshing_ = false;
  boost::asio::steady_timer refreshed_;
};

}  // namespace ferry::engine
