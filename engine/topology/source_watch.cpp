#include "engine/topology/source_watch.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>

#include "protocol/net/discovery.hpp"
#include "protocol/wire/slot_flux.hpp"

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

}  // namespace

source_watch::source_watch(protocol::connection_options seed, protocol::topology map)
    : seed_(std::move(seed)), last_(std::move(map)) {}

source_watch::~source_watch() = default;

asio::awaitable<maybe<protocol::connection*>> source_watch::node(const protocol::endpoint& where) {
  auto& kept = open_[where.address()];
  if (!kept || !kept->is_open()) {
    kept = std::make_unique<protocol::connection>(io_.get_executor(), at_node(seed_, where));
    if (auto ec = co_await kept->connect()) {
      co_return protocol::failure{ec, fmt::format("{}: {}", where.address(), kept->last_error())};
    }
  } else if (kept->login_outdated()) {
    // A renewed access token: AUTH again before the next look (a failure drops the connection).
    if (auto ec = co_await kept->reauth()) {
      kept->close();
      co_return protocol::failure{ec, fmt::format("{}: {}", where.address(), kept->last_error())};
    }
  }
  co_return kept.get();
}

asio::awaitable<maybe<protocol::topology>> source_watch::read_map() {
  protocol::failure last{make_error_code(errc::clusterdown), "no source node to ask"};
  std::vector<protocol::endpoint> candidates{seed_.where};
  for (const auto& master : last_.masters()) candidates.push_back(master.where);
  for (const auto& where : candidates) {
    auto c = co_await node(where);
    if (!c) {
      last = c.error();
      continue;
    }
    auto facts = co_await protocol::discover(**c);
    if (!facts) {
      (*c)->close();
      last = facts.error();
      continue;
    }
    co_return std::move(facts->map);
  }
  co_return last;
}

asio::awaitable<maybe<std::optional<std::vector<std::uint16_t>>>> source_watch::read_flux(
    const protocol::endpoint& where) {
  auto c = co_await node(where);
  if (!c) co_return c.error();
  protocol::command_buffer commands;
  commands.push({"CLUSTER", "NODES"});
  std::vector<protocol::reply> replies;
  if (auto ec = co_await (*c)->exec(commands, replies)) {
    (*c)->close();
    co_return protocol::failure{ec, (*c)->last_error()};
  }
  // A refusal (an ACL without CLUSTER NODES) is not a failure: the map still shows moves.
  using marks = std::optional<std::vector<std::uint16_t>>;
  if (replies[0].is_error()) co_return marks{};
  co_return marks{protocol::slots_in_flux(replies[0].text())};
}

asio::awaitable<maybe<source_view>> source_watch::look_once() {
  auto map = co_await read_map();
  if (!map) co_return map.error();
  source_view view{std::move(*map), {}};
  for (const auto& master : view.map.masters()) {
    auto flux = co_await read_flux(master.where);
    if (!flux) co_return flux.error();
    if (!*flux) view.blind = true;
    for (const auto slot : flux->value_or(std::vector<std::uint16_t>{})) view.in_flux.set(slot);
  }
  last_ = view.map;
  co_return view;
}

maybe<source_view> source_watch::look() {
  // Connections stay open on io_ between looks: a look every half second must not cost the
  // source a connection (and a TLS handshake and AUTH) per node each time.
  std::optional<maybe<source_view>> result;
  std::exception_ptr error;
  asio::co_spawn(io_, look_once(), [&](std::exception_ptr e, maybe<source_view> view) {
    error = e;
    if (!e) result.emplace(std::move(view));
  });
  io_.restart();
  io_.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace ferry::engine
