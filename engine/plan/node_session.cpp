#include "engine/plan/node_session.hpp"

#include <fmt/format.h>

#include <cctype>

#include "engine/plan/node_info.hpp"

namespace ferry::engine {
namespace {

/// The name commandstats gives `command`: lower case, "container|sub" for commands with
/// subcommands (Redis >= 7 counts those apart; both forms classify alike).
std::string stat_name(const std::vector<std::string>& command) {
  std::string name;
  for (char c : command.front())
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (command.size() > 1 && (name == "memory" || name == "object" || name == "xinfo")) {
    name += '|';
    for (char c : command[1])
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

}  // namespace

node_session::node_session(boost::asio::any_io_executor executor,
                           protocol::connection_options options, std::string role)
    : connection_(std::move(executor), std::move(options)), role_(std::move(role)) {}

boost::asio::awaitable<outcome> node_session::connect() {
  if (auto ec = co_await connection_.connect()) {
    co_return protocol::failure{
        ec, fmt::format("cannot use the {} {}: {}", role_, connection_.where().redacted(),
                        connection_.last_error())};
  }
  co_return outcome{};
}

boost::asio::awaitable<maybe<std::vector<protocol::reply>>> node_session::run(
    const std::vector<std::vector<std::string>>& commands) {
  buffer_.clear();
  for (const auto& command : commands) {
    buffer_.begin(command.size());
    for (const auto& arg : command) buffer_.arg(arg);
    ++sent_;
    if (kind_of(stat_name(command)) == command_kind::read) ++sent_reads_;
  }
  std::vector<protocol::reply> replies;
  if (auto ec = co_await connection_.exec(buffer_, replies)) {
    co_return protocol::failure{ec,
                                fmt::format("the {} {}: {}", role_, connection_.where().address(),
                                            connection_.last_error())};
  }
  co_return replies;
}

boost::asio::awaitable<maybe<protocol::reply>> node_session::one(std::vector<std::string> command) {
  std::vector<std::vector<std::string>> commands;
  commands.push_back(std::move(command));
  auto replies = co_await run(commands);
  if (!replies) co_return replies.error();
  co_return std::move(replies->front());
}

}  // namespace ferry::engine
