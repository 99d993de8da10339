#include "engine/cluster/sides.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>

#include "protocol/net/tls.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;
using protocol::failure;

maybe<protocol::connection_options> base_options(const side& s, const tuning& tune,
                                                 const char* role) {
  protocol::connection_options options;
  options.where = s.where;
  options.server_name = s.tls.server_name;
  options.verify_host = !s.tls.insecure;
  options.login = s.login;
  options.connect_timeout = tune.connect_timeout;
  options.io_timeout = tune.io_timeout;
  if (s.where.tls) {
    auto context = protocol::make_tls_context(s.tls);
    if (!context) return fail_with(errc::tls_failed, fmt::format("{}: {}", role, context.error()));
    options.tls = std::move(*context);
  }
  return options;
}

asio::awaitable<maybe<protocol::server_facts>> inspect(const protocol::connection_options& options,
                                                       const char* role) {
  protocol::connection seed(co_await asio::this_coro::executor, options);
  if (auto ec = co_await seed.connect()) {
    co_return failure{ec, fmt::format("cannot use the {} {}: {}", role, options.where.redacted(),
                                      seed.last_error())};
  }
  auto facts = co_await protocol::discover(seed);
  if (!facts) {
    co_return failure{facts.error().code, fmt::format("{}: {}", role, facts.error().message)};
  }
  co_return std::move(*facts);
}

asio::awaitable<maybe<std::vector<std::uint64_t>>> key_counts(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes,
    const char* role) {
  std::vector<std::uint64_t> sizes;
  for (const auto& node : nodes) {
    protocol::connection_options options = base;
    options.where.host = node.where.host;
    options.where.port = node.where.port;
    protocol::connection c(co_await asio::this_coro::executor, options);
    if (auto ec = co_await c.connect()) {
      co_return failure{
          ec, fmt::format("cannot use {} node {}: {}", role, node.where.address(), c.last_error())};
    }
    protocol::command_buffer commands;
    commands.push({"DBSIZE"});
    std::vector<protocol::reply> replies;
    if (auto ec = co_await c.exec(commands, replies)) co_return failure{ec, c.last_error()};
    if (replies[0].is_error()) {
      co_return fail_with(protocol::classify_error_reply(replies[0].text()),
                          fmt::format("{} node {}: DBSIZE refused: {}", role, node.where.address(),
                                      replies[0].text()));
    }
    sizes.push_back(static_cast<std::uint64_t>(std::max<std::int64_t>(replies[0].integer, 0)));
  }
  co_return sizes;
}

asio::awaitable<maybe<inspected_sides>> inspect_sides(const side& source, const side& target,
                                                      const tuning& tune,
                                                      std::string_view same_server_advice) {
  inspected_sides p;
  auto source_options = base_options(source, tune, "source");
  if (!source_options) co_return source_options.error();
  auto target_options = base_options(target, tune, "target");
  if (!target_options) co_return target_options.error();
  p.source = std::move(*source_options);
  p.target = std::move(*target_options);

  auto source_facts = co_await inspect(p.source, "source");
  if (!source_facts) co_return source_facts.error();
  p.source_facts = std::move(*source_facts);
  auto target_facts = co_await inspect(p.target, "target");
  if (!target_facts) co_return target_facts.error();
  p.target_facts = std::move(*target_facts);

  if (p.source_facts.map.is_cluster() && p.source.where.db != 0) {
    co_return fail_with(job_error::configuration,
                        fmt::format("the source {} is a cluster, which has only database 0; drop "
                                    "--source-db {}",
                                    p.source.where.address(), p.source.where.db));
  }
  if (p.target_facts.map.is_cluster() && p.target.where.db != 0) {
    co_return fail_with(job_error::configuration,
                        fmt::format("the target {} is a cluster, which has only database 0; drop "
                                    "--target-db {}",
                                    p.target.where.address(), p.target.where.db));
  }
  if (!p.source_facts.run_id.empty() && p.source_facts.run_id == p.target_facts.run_id &&
      p.source.where.db == p.target.where.db) {
    co_return fail_with(
        job_error::configuration,
        fmt::format("the source and the target are the same server ({}, db {}); "
                    "{}",
                    p.target.where.address(), p.target.where.db, same_server_advice));
  }
  co_return p;
}

}  // namespace ferry::engine
