#include "protocol/net/discovery.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "protocol/wire/errors.hpp"

namespace ferry::protocol {
namespace {

/// The value of `name:` in an INFO reply, or empty.
std::string_view info_field(std::string_view info, std::string_view name) {
  std::size_t at = 0;
  while (at < info.size()) {
    std::size_t end = info.find("\r\n", at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      return line.substr(name.size() + 1);
    }
    at = end + 2;
  }
  return {};
}

void parse_version(std::string_view text, server_facts& facts) {
  const char* end = text.data() + text.size();
  auto [after_major, ec] = std::from_chars(text.data(), end, facts.major_version);
  if (ec != std::errc{} || after_major == end || *after_major != '.') return;
  std::from_chars(after_major + 1, end, facts.minor_version);
}

}  // namespace

boost::asio::awaitable<boost::system::result<server_facts, failure>> discover(connection& seed) {
  command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"INFO", "cluster"});
  commands.push({"CLUSTER", "SHARDS"});
  std::vector<reply> replies;
  if (auto ec = co_await seed.exec(commands, replies)) co_return failure{ec, seed.last_error()};

  server_facts facts;
  if (!replies[0].is_error()) {
    parse_version(info_field(replies[0].text(), "redis_version"), facts);
    facts.run_id = info_field(replies[0].text(), "run_id");
  }
  const bool says_cluster =
      !replies[1].is_error() && info_field(replies[1].text(), "cluster_enabled") == "1";
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
