#include "engine/cluster/slot_router.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/net/discovery.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

slot_router::slot_router(asio::any_io_executor executor, protocol::connection_options seed,
                         protocol::topology initial, const tuning& tune, job_control& control)
    : executor_(executor),
      seed_(std::move(seed)),
      tune_(tune),
      control_(control),
      map_(std::move(initial)),
      refreshed_(executor, asio::steady_timer::time_point::max()) {}

std::string slot_router::refuses_bulk(std::size_t size) const {
  if (refused_bulk_ != 0 && size >= refused_bulk_) {
    return fmt::format(
        "the key is too large for the target's bulk limit: its payload (a DUMP, or a string's "
        "value) is {} bytes and the target refused a {}-byte payload as over its "
        "proto-max-bulk-len; raise "
        "proto-max-bulk-len on the target to copy it",
        size, refused_bulk_);
  }
  return {};
}

asio::awaitable<outcome> slot_router::refresh() {
  if (refreshing_) {
    const auto seen = version_;
    while (refreshing_ && version_ == seen) {
      co_await refreshed_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return outcome{};
  }
  refreshing_ = true;
  // Any master may answer; the seed first, then the nodes we knew, in case the seed is down.
  std::vector<protocol::endpoint> candidates{seed_.where};
  for (const auto& node : map_.masters()) candidates.push_back(node.where);
  protocol::failure last{};
  for (const auto& candidate : candidates) {
    link node(executor_, protocol::at_node(seed_, candidate.host, candidate.port), tune_, control_);
    auto opened = co_await node.open();
    if (!opened) {
      last = opened.error();
      continue;
    }
    auto facts = co_await protocol::discover(node.connection());
    if (!facts) {
      last = facts.error();
      continue;
    }
    map_ = std::move(facts->map);
    ++version_;
    refreshing_ = false;
    refreshed_.cancel();
    co_return outcome{};
  }
  refreshing_ = false;
  refreshed_.cancel();
  co_return protocol::failure{
      last.code, fmt::format("cannot refresh the target's slot map: {}", last.message)};
}

}  // namespace ferry::engine
