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

std::string parse_node_info(std::string_view info, node_state& state) {
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

std::optional<std::string> node_moved(const node_state& a, const node_state& b) {
  if (a.address != b.address || a.run_id != b.run_id) {
    return fmt::format("master {} is another node than before the source pass", b.address);
  }
  if (a.role != "master" || b.role != "master") {
    return fmt::format("node {} is not a master (role {})", b.address, b.role);
  }
  if (a.dirty != b.dirty || a.saves != b.saves || a.last_save != b.last_save ||
      a.expired != b.expired || a.evicted != b.evicted) {
    return fmt::format("{} was written during the check", b.address);
  }
  if (a.keys != b.keys || a.keys < 0) {
    return fmt::format("{} held {} keys before the source pass and {} after it", b.address,
                       a.keys, b.keys);
  }
  return std::nullopt;
}

std::optional<std::string> judge_extra_proof(const std::vector<node_state>& before,
                                             const std::vector<node_state>& after,
                                             std::uint64_t present) {
  if (before.size() != after.size()) {
    return fmt::format("the target had {} master(s) before the source pass and {} after it",
                       before.size(), after.size());
  }
  std::uint64_t keys = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (auto moved = node_moved(before[i], after[i])) return "the target " + *moved;
    keys += static_cast<std::uint64_t>(before[i].keys);
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
  // About four hashes a bucket (two buckets at least); a bucket is the hash's top bits.
  unsigned bits = 1;
  while (bits < 30 && (std::size_t{4} << bits) < hashes_.size()) ++bits;
  shift_ = 64 - bits;
  starts_.assign((std::size_t{1} << bits) + 1, 0);
  std::size_t at = 0;
  for (std::size_t b = 0; b + 1 < starts_.size(); ++b) {
    starts_[b] = static_cast<std::uint32_t>(at);
    while (at < hashes_.size() && (hashes_[at] >> shift_) == b) ++at;
  }
  starts_.back() = static_cast<std::uint32_t>(hashes_.size());
  return hashes_.size();
}

bool key_hash_set::contains(std::string_view key) const {
  const auto hash = static_cast<std::uint64_t>(std::hash<std::string_view>{}(key));
  if (starts_.empty()) return false;  // before distinct(): nothing indexed yet
  const auto bucket = static_cast<std::size_t>(hash >> shift_);
  const auto first = hashes_.begin() + starts_[bucket];
  const auto last = hashes_.begin() + starts_[bucket + 1];
  return std::binary_search(first, last, hash);
}

node_state_reader::node_state_reader(asio::any_io_executor executor,
                                     protocol::connection_options base,
                                     std::vector<protocol::cluster_node> nodes, std::string role)
    : executor_(std::move(executor)),
      base_(std::move(base)),
      nodes_(std::move(nodes)),
      role_(std::move(role)) {}

node_state_reader::~node_state_reader() = default;

asio::awaitable<maybe<std::vector<node_state>>> node_state_reader::read() {
  std::vector<node_state> states;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const auto& node = nodes_[i];
    node_state state;
    state.address = node.where.address();
    if (connections_.size() <= i) {
      connections_.push_back(std::make_unique<protocol::connection>(
          executor_, protocol::at_node(base_, node.where.host, node.where.port)));
    }
    protocol::connection& c = *connections_[i];
    if (!c.is_open()) {
      if (auto ec = co_await c.connect()) {
        co_return protocol::failure{ec, fmt::format("cannot use {} node {}: {}", role_,
                                                    state.address, c.last_error())};
      }
    }
    // One section per INFO: older servers take only one.
    protocol::command_buffer commands;
    for (const char* section : {"server", "replication", "persistence", "stats"}) {
      commands.push({"INFO", section});
    }
    commands.push({"DBSIZE"});
    std::vector<protocol::reply> replies;
    if (auto ec = co_await c.exec(commands, replies)) {
      c.close();
      co_return protocol::failure{ec, c.last_error()};
    }
    std::string info;
    for (std::size_t r = 0; r + 1 < replies.size(); ++r) {
      if (replies[r].is_error()) {
        co_return fail_with(protocol::classify_error_reply(replies[r].text()),
                            fmt::format("{} node {}: INFO refused: {}", role_, state.address,
                                        replies[r].text()));
      }
      info += replies[r].text();
      info += '\n';
    }
    if (replies.back().is_error()) {
      co_return fail_with(protocol::classify_error_reply(replies.back().text()),
                          fmt::format("{} node {}: DBSIZE refused: {}", role_, state.address,
                                      replies.back().text()));
    }
    if (const std::string lacking = parse_node_info(info, state); !lacking.empty()) {
      co_return fail_with(protocol::errc::server_error,
                          fmt::format("{} node {} does not report {} in INFO", role_,
                                      state.address, lacking));
    }
    state.keys = replies.back().integer;
    states.push_back(std::move(state));
  }
  co_return states;
}

asio::awaitable<maybe<std::vector<node_state>>> read_node_states(
    const protocol::connection_options& base, const std::vector<protocol::cluster_node>& nodes) {
  node_state_reader reader(co_await asio::this_coro::executor, base, nodes, "target");
  co_return co_await reader.read();
}

}  // namespace ferry::engine
