#pragma once
// Bounded channels between the stages of a pipeline, and how a producer ends a stream.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ferry::engine {

/// Tells each of `consumers` receivers that nothing more will come. (A channel's close() would
/// drop the batches still buffered in it; an end-of-stream message per receiver does not.)
template <class Channel>
boost::asio::awaitable<void> end_stream(Channel& channel, unsigned consumers) {
  for (unsigned i = 0; i < consumers; ++i) {
    co_await channel.async_send(boost::asio::error::eof, {},
                                boost::asio::as_tuple(boost::asio::use_awaitable));
  }
}

}  // namespace ferry::engine
