#pragma once
// Re-AUTH of idle connections when an access token is renewed (Microsoft Entra ID).
//
// A link AUTHs again with a renewed token before its next batch (link.cpp). A connection that
// sits idle meanwhile — a reader waiting for the rate limiter, a writer waiting for records —
// would keep the old token past its expiry, and the service would drop it. The sweeper of a worker
// thread looks at the links made on that thread once a second and re-AUTHs each open one that is
// between batches and whose login is outdated, so every open connection moves to the new token
// within about a second of the renewal, minutes before the old token expires.
//
// A link shares its connection with the sweeper (link_state, engine/cluster), so a link may go away
// while a sweep of its connection is in flight: the sweep keeps the connection alive until it ends.
// A link waits for a sweep of its connection to end before it sends a batch.
//
// Thread: one worker thread (one io_context): constructed and run there, like the links it sweeps.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "engine/cluster/link_state.hpp"

namespace ferry::engine {

/// See the file comment.
class reauth_sweeper final : public link_registry {
 public:
  /// A sweeper for the links made on this thread while `flows` coroutines (run through
  /// `run_flow`) have not all ended. Installs itself as the thread's sweeper.
  reauth_sweeper(boost::asio::any_io_executor executor, std::size_t flows);
  /// Uninstalls itself.
  ~reauth_sweeper() override;
  reauth_sweeper(const reauth_sweeper&) = delete;
  reauth_sweeper& operator=(const reauth_sweeper&) = delete;

  /// Puts a link made on this thread under this sweeper.
  void enroll(const std::shared_ptr<link_state>& link) override;

  /// Runs `flow`; the sweeper stops once the last of its flows has ended.
  boost::asio::awaitable<void> run_flow(boost::asio::awaitable<void> flow);
  /// Looks at the links once a second until every flow has ended.
  boost::asio::awaitable<void> run();

 private:
  void sweep();
  void flow_ended();

  boost::asio::any_io_executor executor_;
  std::size_t flows_;
  std::vector<std::weak_ptr<link_state>> links_;
  boost::asio::steady_timer tick_;
};

/// Runs `flows` on `io` (the calling worker thread's) under a re-AUTH sweeper, until they have
/// all ended. A flow that throws goes to `on_error`; the others go on.
void run_flows_with_reauth(boost::asio::io_context& io,
                           std::vector<boost::asio::awaitable<void>> flows,
                           const std::function<void(std::exception_ptr)>& on_error);

}  // namespace ferry::engine
