#pragma once
// How engine functions say "a value, or the failure that stopped it", and running a setup
// coroutine to its end from plain code.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/result.hpp>
#include <exception>
#include <optional>
#include <string>

#include "engine/runtime/errors.hpp"
#include "protocol/wire/errors.hpp"
#include "protocol/wire/failure.hpp"

namespace ferry::engine {

/// A value or the failure that stopped a job from getting it.
template <class T>
using maybe = boost::system::result<T, protocol::failure>;

/// A failure of kind `code` (a server's) with `message`.
inline protocol::failure fail_with(protocol::errc code, std::string message) {
  return protocol::failure{make_error_code(code), std::move(message)};
}

/// A failure of kind `code` (ferry's own) with `message`.
inline protocol::failure fail_with(job_error code, std::string message) {
  return protocol::failure{make_error_code(code), std::move(message)};
}

/// Result of an operation that either worked or failed for good.
using outcome = boost::system::result<void, protocol::failure>;

/// Runs `task` to its end on a private io_context on the calling thread (setup work).
template <class T>
T run_blocking(boost::asio::awaitable<T> task) {
  boost::asio::io_context io{1};
  std::optional<T> result;
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

/// The message of an exception that escaped a coroutine.
std::string describe(std::exception_ptr error);

}  // namespace ferry::engine
