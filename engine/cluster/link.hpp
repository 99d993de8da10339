#pragma once
// A connection that comes back: reconnects with backoff and jitter after retryable failures.
//
// Thread: the worker thread that owns it; one batch at a time.

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/cluster/link_state.hpp"
#include "engine/cluster/link_stats.hpp"
#include "engine/runtime/backoff.hpp"
#include "engine/runtime/job_control.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// See the file comment.
class link {
 public:
  /// A closed link to `options.where`; counts its retries by cause and its reconnects into
  /// `stats` when given (which must outlive it).
  link(boost::asio::any_io_executor executor, protocol::connection_options options,
       const tuning& tune, job_control& control, link_stats* stats = nullptr);

  /// Connects if needed. Retryable failures are retried with backoff until the retry time is
  /// spent; fatal ones (auth, TLS) return at once.
  boost::asio::awaitable<outcome> open();

  /// One attempt on an open connection. After a break, the replies read before it stay in
  /// `replies`, so the caller knows which commands surely ran. When the login source has renewed
  /// its token since the connection authenticated, AUTHs again first (a refusal is fatal:
  /// `errc::auth_failed`); a connection the server dropped while idle (its old token expired) is
  /// reopened with the current token before the batch is sent.
  boost::asio::awaitable<boost::system::error_code> exec_once(
      protocol::command_buffer& commands, std::vector<protocol::reply>& replies);

  /// For batches that may safely run twice (reads, RESTORE ... REPLACE): opens, executes, and
  /// after a break reconnects and executes the whole batch again.
  boost::asio::awaitable<outcome> exec(protocol::command_buffer& commands,
                                       std::vector<protocol::reply>& replies);

  /// Waits out the next backoff delay after a retryable failure (`cause`, for the metrics'
  /// retries by cause); false when the retry time is spent or the job is stopping.
  boost::asio::awaitable<bool> pause_before_retry(
      boost::system::error_code cause =
          protocol::make_error_code(protocol::errc::connection_closed));

  /// The underlying connection.
  protocol::connection& connection() noexcept { return state_->connection; }
  /// "host:port" of the node.
  std::string address() const { return state_->connection.where().address(); }
  /// Attempts that failed and were retried since the link was made.
  std::uint64_t retries() const noexcept { return retries_; }
  /// Times the open connection authenticated again with a renewed token.
  std::uint64_t reauths() const noexcept { return state_->connection.reauths(); }

 private:
  /// Waits while the thread's link registry (the re-AUTH sweeper) uses the connection.
  boost::asio::awaitable<void> wait_for_sweep();

  std::shared_ptr<link_state> state_;  // shared with the thread's re-AUTH sweeper
  job_control& control_;
  backoff backoff_;
  std::uint64_t retries_ = 0;
  link_stats* stats_ = nullptr;
  bool opened_once_ = false;  // a later connect is a reconnect
};

}  // namespace ferry::engine
