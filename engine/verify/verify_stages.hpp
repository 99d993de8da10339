#pragma once
// What the two passes of a verify share: the comparison of the source's keys (verify_tasks.cpp)
// and the search for keys only the target holds (extra_tasks.cpp). Batches of key names, a
// node's scanner with its consumers, and a wait that polls.
//
// Thread: the worker thread whose io_context runs them.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "engine/runtime/job_control.hpp"
#include "engine/runtime/pauses.hpp"
#include "engine/verify/key_compare.hpp"
#include "engine/verify/verify_tasks.hpp"

namespace ferry::engine::verify_stages {

using key_list = std::vector<protocol::bytes>;
using key_list_channel =
    boost::asio::experimental::channel<void(boost::system::error_code, key_list)>;

/// The keys of `verdicts` at `which`.
key_list pick(const std::vector<verdict>& verdicts, const std::vector<std::size_t>& which);

/// Waits, polling every 20 ms, until `ready()` or the job stops, or `limit` has passed.
template <class Ready>
boost::asio::awaitable<void> wait_until(
    const job_control& control, Ready ready,
    std::chrono::milliseconds limit = std::chrono::hours{24 * 365}) {
  constexpr std::chrono::milliseconds poll{20};
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!ready() && !control.stopping() && std::chrono::steady_clock::now() < until) {
    co_await sleep_for(poll);
  }
}

/// True when there is a gate and it was cancelled.
inline bool cancelled(const extra_gate* gate) {
  return gate != nullptr && gate->now() == extra_gate::state::cancelled;
}

/// What takes a node's batches of keys until the end of the stream.
using consumer = boost::asio::awaitable<void> (*)(verify_context&, key_list_channel&,
                                                  side_probes&);

/// Scans `node` (as `role`, counting its keys into `counted`) and runs `consumers` copies of
/// `consume` on its batches; with `gate`, the scan starts once the gate no longer waits and ends
/// when it is cancelled. A coroutine that throws stops the job with its message.
boost::asio::awaitable<void> run_stages(verify_context& ctx, protocol::connection_options node,
                                        std::string role, verify_counter counted,
                                        unsigned consumers, const extra_gate* gate,
                                        consumer consume);

}  // namespace ferry::engine::verify_stages
