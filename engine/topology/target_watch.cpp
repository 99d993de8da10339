#include "engine/topology/target_watch.hpp"

#include <fmt/format.h>

#include <boost/asio/this_coro.hpp>

#include "engine/cluster/sides.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;

namespace {

struct node_state {
  std::string run_id;
  long long keys = -1;
};

asio::awaitable<node_state> look(protocol::connection_options options) {
  // Short deadlines: this is a side check, and an unreachable node is the writers' business.
  options.connect_timeout = std::chrono::milliseconds{2'000};
  options.io_timeout = std::chrono::milliseconds{2'000};
  protocol::connection c(co_await asio::this_coro::executor, options);
  node_state state;
  if (co_await c.connect()) co_return state;
  protocol::command_buffer commands;
  commands.push({"INFO", "server"});
  commands.push({"DBSIZE"});
  std::vector<protocol::reply> replies;
  if (co_await c.exec(commands, replies)) co_return state;
  state.run_id = protocol::info_text(replies[0].text(), "run_id");
  if (!replies[1].is_error()) state.keys = replies[1].integer;
  co_return state;
}

}  // namespace

target_watch::target_watch(protocol::connection_options options, protocol::topology map)
    : options_(std::move(options)), map_(std::move(map)) {}

void target_watch::check(std::vector<std::string>& warnings) {
  for (const auto& master : map_.masters()) {
    protocol::connection_options options = options_;
    options.where.host = master.where.host;
    options.where.port = master.where.port;
    const node_state now = run_blocking(look(options));
    if (now.run_id.empty()) continue;
    seen& before = nodes_[master.where.address()];
    if (!before.run_id.empty() && before.run_id != now.run_id && now.keys < before.keys &&
        !before.reported) {
      warnings.push_back(fmt::format(
          "target node {} RESTARTED during the copy (run_id changed) and now holds {} keys where "
          "it held {}: keys ferry had already written were LOST. After the copy, run `ferry "
          "verify --repair` with the same source and target to restore them",
          master.where.address(), now.keys, before.keys));
      before.reported = true;
    }
    before.run_id = now.run_id;
    before.keys = now.keys;
  }
}

}  // namespace ferry::engine
