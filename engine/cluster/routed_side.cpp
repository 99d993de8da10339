#include "engine/cluster/routed_side.hpp"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <string_view>

#include "protocol/wire/errors.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::errc;

routed_side::routed_side(asio::any_io_executor executor, slot_router& router, const tuning& tune,
                         job_control& control, std::string role)
    : executor_(std::move(executor)),
      router_(router),
      tune_(tune),
      control_(control),
      role_(std::move(role)),
      backoff_(std::chrono::milliseconds{20}, std::chrono::milliseconds{2'000}, tune.max_retry_time,
               std::random_device{}()) {}

link& routed_side::link_to(const protocol::endpoint& node) {
  auto& slot = links_[node.address()];
  if (!slot) slot = std::make_unique<link>(executor_, router_.options_for(node), tune_, control_);
  return *slot;
}

std::uint64_t routed_side::retries() const {
  std::uint64_t total = resent_;
  for (const auto& [address, l] : links_) total += l->retries();
  return total;
}

asio::awaitable<bool> routed_side::pause(std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  asio::steady_timer timer(executor_);
  while (!control_.stopping()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) co_return true;
    // Short slices: job_control is a flag, not something a timer can wait on.
    timer.expires_after(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds{50}));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return false;
}

asio::awaitable<outcome> routed_side::run_one(const protocol::bytes& key, std::size_t per_key,
                                              const key_encoder& encode,
                                              std::vector<protocol::reply>& replies) {
  co_return co_await run(std::span<const protocol::bytes>(&key, 1), per_key, encode, replies);
}

asio::awaitable<outcome> routed_side::run(std::span<const protocol::bytes> keys,
                                          std::size_t per_key, const key_encoder& encode,
                                          std::vector<protocol::reply>& replies) {
  replies.assign(keys.size() * per_key, protocol::reply{});
  std::vector<pending> todo(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) todo[i].index = i;
  backoff_.reset();
  while (!todo.empty()) {
    if (control_.failed()) {
      co_return protocol::failure{make_error_code(errc::server_error), "the job is stopping"};
    }
    std::map<std::string, std::pair<protocol::endpoint, std::vector<pending>>> groups;
    std::vector<pending> again;
    bool refresh = false;
    const auto& map = router_.map();
    for (pending& p : todo) {
      protocol::endpoint node;
      if (!p.ask.empty()) {
        const auto colon = p.ask.rfind(':');
        node = map.masters().front().where;  // the side's scheme, credentials and db
        node.host = p.ask.substr(0, colon);
        node.port = static_cast<std::uint16_t>(std::stoi(p.ask.substr(colon + 1)));
      } else if (auto owner = map.master_of(protocol::key_slot(keys[p.index].view()))) {
        node = map.masters()[*owner].where;
      } else {
        refresh = true;
        again.push_back(std::move(p));
        continue;
      }
      auto& group = groups[node.address()];
      group.first = node;
      group.second.push_back(std::move(p));
    }
    for (auto& [address, group] : groups) {
      auto done =
          co_await run_node(group.first, group.second, per_key, encode, replies, again, refresh);
      if (!done) co_return done;
    }
    todo = std::move(again);
    if (todo.empty()) break;
    resent_ += todo.size();
    if (refresh) {
      if (auto done = co_await router_.refresh(); !done) co_return done;
    }
    auto delay = backoff_.next(backoff::clock::now());
    if (!delay) {
      co_return protocol::failure{
          make_error_code(errc::timeout),
          fmt::format("{}: {} keys could not be read within --max-retry-time (the cluster kept "
                      "redirecting or refusing them)",
                      role_, todo.size())};
    }
    asio::steady_timer timer(executor_, *delay);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return outcome{};
}

asio::awaitable<outcome> routed_side::run_node(const protocol::endpoint& node,
                                               std::vector<pending>& group, std::size_t per_key,
                                               const key_encoder& encode,
                                               std::vector<protocol::reply>& replies,
                                               std::vector<pending>& again, bool& refresh) {
  commands_.clear();
  for (const pending& p : group) {
    if (!p.ask.empty()) commands_.push({"ASKING"});
    encode(p.index, commands_);
  }
  link& target = link_to(node);
  if (auto done = co_await target.exec(commands_, node_replies_); !done) {
    co_return protocol::failure{done.error().code,
                                fmt::format("{}: {}", role_, done.error().message)};
  }
  std::size_t at = 0;
  for (pending& p : group) {
    if (!p.ask.empty()) ++at;  // ASKING's +OK
    const std::size_t first = at;
    at += per_key;
    // The first reply that says "not here" or "not now" decides for the whole key.
    std::optional<errc> unsettled;
    std::string_view why;
    for (std::size_t k = first; k < at && !unsettled; ++k) {
      if (!node_replies_[k].is_error()) continue;
      const errc kind = protocol::classify_error_reply(node_replies_[k].text());
      if (kind == errc::moved || kind == errc::ask ||
          protocol::disposition_of(kind) == protocol::disposition::retry) {
        unsettled = kind;
        why = node_replies_[k].text();
      }
    }
    if (!unsettled) {
      for (std::size_t k = 0; k < per_key; ++k) {
        replies[p.index * per_key + k] = std::move(node_replies_[first + k]);
      }
      continue;
    }
    if (*unsettled == errc::moved) refresh = true;
    p.ask.clear();
    if (*unsettled == errc::ask) {
      if (auto to = protocol::parse_redirect(why)) {
        p.ask = fmt::format("{}:{}", to->host.empty() ? node.host : to->host, to->port);
      }
    }
    again.push_back(std::move(p));
  }
  co_return outcome{};
}

}  // namespace ferry::engine
