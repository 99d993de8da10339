#include "engine/source_watch.hpp"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>
#include <optional>

#include "protocol/discovery.hpp"
#include "protocol/slot_flux.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

namespace {

protocol::connection_options at_node(protocol::connection_options options,
                                     const protocol::endpoint& where) {
  // Short deadlines: a look is a side check, repeated soon; the pipeline reports dead nodes.
  options.connect_timeout = std::chrono::milliseconds{2'000};
  options.io_timeout = std::chrono::milliseconds{2'000};
  options.where.host = where.host;
  options.where.port = where.port;
  return options;
}

/// The slot map, from the first of `candidates` that answers.
asio::awaitable<maybe<protocol::topology>> read_map(
    std::vector<protocol::connection_options> candidates) {
  protocol::failure last{make_error_code(errc::clusterdown), "no source node to ask"};
  for (const auto& options : candidates) {
    protocol::connection c(co_await asio::this_coro::executor, options);
    if (auto ec = co_await c.connect()) {
      last = {ec, fmt::format("{}: {}", options.where.address(), c.last_error())};
      continue;
    }
    auto facts = co_await protocol::discover(c);
    if (!facts) {
      last = facts.error();
      continue;
    }
    co_return std::move(facts->map);
  }
  co_return last;
}

/// The slots `options`' node marks as migrating or importing; nothing when it refuses to say.
asio::awaitable<maybe<std::optional<std::vector<std::uint16_t>>>> read_flux(
    protocol::connection_options options) {
  protocol::connection c(co_await asio::this_coro::executor, options);
  if (auto ec = co_await c.connect()) {
    co_return protocol::failure{ec, fmt::format("{}: {}", options.where.address(), c.last_error())};
  }
  protocol::command_buffer commands;
  commands.push({"CLUSTER", "NODES"});
  std::vector<protocol::reply> replies;
  if (auto ec = co_await c.exec(commands, replies)) co_return protocol::failure{ec, c.last_error()};
  // A refusal (an ACL without CLUSTER NODES) is not a failure: the map still shows moves.
  using marks = std::optional<std::vector<std::uint16_t>>;
  if (replies[0].is_error()) co_return marks{};
  co_return marks{protocol::slots_in_flux(replies[0].text())};
}

}  // namespace

source_watch::source_watch(protocol::connection_options seed, protocol::topology map)
    : seed_(std::move(seed)), last_(std::move(map)) {}

maybe<source_view> source_watch::look() {
  std::vector<protocol::connection_options> candidates{at_node(seed_, seed_.where)};
  for (const auto& master : last_.masters()) candidates.push_back(at_node(seed_, master.where));
  auto map = run_blocking(read_map(std::move(candidates)));
  if (!map) return map.error();
  source_view view{std::move(*map), {}};
  for (const auto& master : view.map.masters()) {
    auto flux = run_blocking(read_flux(at_node(seed_, master.where)));
    if (!flux) return flux.error();
    if (!*flux) view.blind = true;
    for (const auto slot : flux->value_or(std::vector<std::uint16_t>{})) view.in_flux.set(slot);
  }
  last_ = view.map;
  return view;
}

}  // namespace ferry::engine
