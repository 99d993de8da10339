#include "engine/verify/extra_proof.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/this_coro.hpp>
#include <charconv>
#include <functional>

#include "protocol/wire/info.hpp"

namespace ferry::engine {

namespace asio = boost::asio;
using protocol::info_field;

namespace {

bool number_field(std::string_view info, std::string_view name, std::int64_t& out) {
  auto text = info_field(info, name);
  if (!text) return false;
  const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), out);
  return ec == std::errc{} && ptr == text->data() + text->size();
}

}  // namespace

std::string parse_target_info(std::string_view info, target_node_state& state) {
  if (auto id = info_field(info, "run_id")) {
    state.run_id = std::string(*id);
  } else {
    return "run_id";
  }
  if (auto role = info_field(info, "role")) {
    state.role = std::string(*role);
  } else {
    return "role";
  }
  if (!number_field(info, "rdb_changes_since_last_save", state.dirty)) {
    return "rdb_changes_since_last_save";
  }
  if (!number_field(info, "rdb_saves", state.saves)) return "rdb_saves";
  if (!number_field(info, "rdb_last_save_time", state.last_save)) return "rdb_last_save_time";
  if (!number_field(info, "expired_keys", state.expired)) return "expired_keys";
  if (!number_field(info, "evicted_keys", state.evicted)) return "evicted_keys";
  return {};
}

std::optional<std::string> judge_extra_proof(const std::vector<target_node_state>& before,
                                             const std::vector<target_node_state>& after,
                                             std::uint64_t present) {
  if (before.size() != after.size()) {
    return fmt::format("the target had {} master(s) before the source pass and {} after it",
                       before.size(), after.size());
  }
  std::uint64_t keys = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const target_node_state& a = before[i];
    const target_node_state& b = after[i];
    if (a.address != b.address || a.run_id != b.run_id) {
      return fmt::format("the target master {} is another node than before the source pass",
                         b.address);
    }
    if (a.role != "master" || b.role != "master") {
      return fmt::format("the target node {} is not a master (role {})", b.address, b.role);
    }
    if (a.dirty != b.dirty || a.saves != b.saves || a.last_save != b.last_save ||
        a.expired != b.expired || a.evicted != b.evicted) {
      return fmt::format("the target {} was written during the check", b.address);
    }
    if (a.keys != b.keys || a.keys < 0) {
      return fmt::format("the target {} held {} keys before the source pass and {} after it",
                         b.address, a.keys, b.keys);
    }
    keys += static_cast<std::uint64_t>(a.keys);
  }
  if (keys != present) {
    return fmt::format("the target holds {} keys and the source pass found {} of them", keys,
                       present);
  }
  return std::nullopt;
}

void key_hash_set::add(std::string_view key) {
  if (overflowed_) return;
  if (hashes_.size() >= limit_) {
    overflowed_ = true;
    hashes_ = {};
    return;
  }
  hashes_.push_back(static_cast<std::uint64_t>(std::hash<std::string_view>{}(key)));
}

void key_hash_set::merge(key_hash_set&& other) {
  overflowed_ = overflowed_ || other.overflowed_;
  if (overflowed_) {
    hashes_ = {};
    other.hashes_ = {};
    return;
  }
  if (hashes_.empty()) {
    hashes_ = std::move(other.hashes_);
  } else {
    hashes_.insert(hashes_.end(), other.hashes_.begin(), other.hashes_.end());
  }
  other.hashes_ = {};
}

std::uint64_t key_hash_set::distinct() {
  std::sort(hashes_.begin(), hashes_.end());
  hashes_.erase(std::unique(hashes_.begin(), hashes_.end()), hashes_.end());
  return hashes_.size();
}

bool key_hash_set::contains(std::string_view key) const {
  return std::binary_search(hashes_.begin(), hashes_.end(),
                            static_cast<std::uint64_t>(std::hash<std::string_view>{}(key)));
}

asio::awaitable<maybe<std::vector<target_node_state>>> read_target_states(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes) {
  std::vector<target_node_state> states;
  for (const auto& node : nodes) {
    protocol::connection_options options =
        protocol::at_node(base, node.where.host, node.where.port);
    target_node_state state;
    state.address = node.where.address();
    protocol::connection c(co_await asio::this_coro::executor, options);
    if (auto ec = co_await c.connect()) {
      co_return protocol::failure{
          ec, fmt::format("cannot use target node {}: {}", state.address, c.last_error())};
    }
    // One section per INFO: older servers take only one.
    protocol::command_buffer commands;
    for (const char* section : {"server", "replication", "persistence", "stats"}) {
      commands.push({"INFO", section});
    }
    commands.push({"DBSIZE"});
    std::vector<protocol::reply> replies;
    if (auto ec = co_await c.exec(commands, replies)) {
      co_return protocol::failure{ec, c.last_error()};
    }
    std::string info;
    for (std::size_t i = 0; i + 1 < replies.size(); ++i) {
      if (replies[i].is_error()) {
        co_return fail_with(
            protocol::classify_error_reply(replies[i].text()),
            fmt::format("target node {}: INFO refused: {}", state.address, replies[i].text()));
      }
      info += replies[i].text();
      info += '\n';
    }
    if (replies.back().is_error()) {
      co_return fail_with(
          protocol::classify_error_reply(replies.back().text()),
          fmt::format("target node {}: DBSIZE refused: {}", state.address, replies.back().text()));
    }
    if (const std::string lacking = parse_target_info(info, state); !lacking.empty()) {
      co_return fail_with(
          protocol::errc::server_error,
          fmt::format("target node {} does not report {} in INFO", state.address, lacking));
    }
    state.keys = replies.back().integer;
    states.push_back(std::move(state));
  }
  co_return states;
}

}  // namespace ferry::engine
