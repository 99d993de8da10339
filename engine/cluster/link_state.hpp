#pragma once
// A link's connection and who is using it, shared between the link (link.hpp) and whatever
// looks after the links of a worker thread: today the re-AUTH sweeper of engine/auth, which
// moves idle connections to a renewed token. The cluster layer only offers the hook; it knows
// nothing of tokens.
//
// Thread: one worker thread (one io_context), like the links.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "protocol/net/connection.hpp"

namespace ferry::engine {

/// A link's connection and its users, shared with the thread's link registry.
struct link_state {
  /// A closed connection to `options.where`.
  link_state(boost::asio::any_io_executor executor, protocol::connection_options options);

  /// The connection itself.
  protocol::connection connection;
  /// The link is connecting or running a batch on it.
  bool in_batch = false;
  /// Someone else (the re-AUTH sweeper) is using it between batches.
  bool sweeping = false;
  /// Cancelled when a sweep ends, waking a link that waits to send a batch.
  boost::asio::steady_timer sweep_done;
};

/// Learns of every link made on the thread it is installed on.
class link_registry {
 public:
  virtual ~link_registry() = default;
  /// A link was made on this thread.
  virtual void enroll(const std::shared_ptr<link_state>& link) = 0;

  /// The registry installed on the running thread, if any.
  static link_registry* of_this_thread() noexcept;
  /// Installs `registry` on the running thread (null to uninstall).
  static void install(link_registry* registry) noexcept;
};

}  // namespace ferry::engine
