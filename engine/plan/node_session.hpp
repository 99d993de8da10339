#pragma once
// One connection to one node for the plan, which counts what ferry sends so that ferry's own
// commands can be taken out of the server's counters (the application's traffic is what is
// left). Only read commands go through it: the plan never writes.
//
// Thread: belongs to the thread running its executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/runtime/result.hpp"
#include "protocol/net/connection.hpp"

namespace ferry::engine {

/// See the file comment.
class node_session {
 public:
  /// A closed session to `options.where`.
  node_session(boost::asio::any_io_executor executor, protocol::connection_options options,
               std::string role);

  /// Connects (TLS, AUTH, SELECT, CLIENT SETNAME ferry); the failure names the node and role.
  boost::asio::awaitable<outcome> connect();

  /// Sends `commands` in one pipeline and returns one reply per command (error replies
  /// included); fails only when the connection breaks.
  boost::asio::awaitable<maybe<std::vector<protocol::reply>>> run(
      const std::vector<std::vector<std::string>>& commands);

  /// One command.
  boost::asio::awaitable<maybe<protocol::reply>> one(std::vector<std::string> command);

  /// Commands sent by run() so far (connect's AUTH, SELECT and CLIENT SETNAME not included:
  /// callers count from after connecting).
  std::uint64_t sent() const noexcept { return sent_; }
  /// Of which read commands (as commandstats counts them).
  std::uint64_t sent_reads() const noexcept { return sent_reads_; }
  /// "host:port".
  std::string address() const { return connection_.where().address(); }
  /// "source" or "target".
  const std::string& role() const noexcept { return role_; }

 private:
  protocol::connection connection_;
  std::string role_;
  protocol::command_buffer buffer_;
  std::uint64_t sent_ = 0;
  std::uint64_t sent_reads_ = 0;
};

}  // namespace ferry::engine
