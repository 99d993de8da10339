#include "protocol/net/discovery.hpp"

#include <fmt/format.h>

#include <string_view>

#include "protocol/wire/errors.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::protocol {

boost::asio::awaitable<boost::system::result<server_facts, failure>> discover(connection& seed) {
  command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"INFO", "cluster"});
  commands.push({"CLUSTER", "SHARDS"});
  std::vector<reply> replies;
  if (auto ec = co_await seed.exec(commands, replies)) co_return failure{ec, seed.last_error()};

  server_facts facts;
  if (!replies[0].is_error()) {
    const auto version = parse_server_version(info_text(replies[0].text(), "redis_version"));
    facts.major_version = version.major;
    facts.minor_version = version.minor;
    facts.run_id = info_text(replies[0].text(), "run_id");
  }
  const bool says_cluster =
      !replies[1].is_error() && info_text(replies[1].text(), "cluster_enabled") == "1";
  const endpoint& where = seed.where();

  if (!replies[2].is_error()) {
    auto parsed = topology::from_cluster_shards(replies[2], where);
    if (!parsed)
      co_return failure{make_error_code(errc::protocol_violation),
                        fmt::format("{}: {}", where.address(), parsed.error())};
    facts.map = std::move(*parsed);
    co_return facts;
  }
  const std::string_view refusal = replies[2].text();
  if (!says_cluster) {
    // Cluster support disabled, or a proxy that hides (and refuses) CLUSTER commands.
    facts.map = topology::standalone(where);
    co_return facts;
  }
  // A cluster that does not know CLUSTER SHARDS (Redis < 7) still answers CLUSTER SLOTS.
  commands.clear();
  commands.push({"CLUSTER", "SLOTS"});
  if (auto ec = co_await seed.exec(commands, replies)) co_return failure{ec, seed.last_error()};
  if (replies[0].is_error()) {
    co_return failure{make_error_code(classify_error_reply(replies[0].text())),
                      fmt::format("{} is a cluster node but refused both CLUSTER SHARDS ({}) and "
                                  "CLUSTER SLOTS ({}); allow them for ferry's user",
                                  where.address(), refusal, replies[0].text())};
  }
  auto parsed = topology::from_cluster_slots(replies[0], where);
  if (!parsed)
    co_return failure{make_error_code(errc::protocol_violation),
                      fmt::format("{}: {}", where.address(), parsed.error())};
  facts.map = std::move(*parsed);
  co_return facts;
}

}  // namespace ferry::protocol
