#include "tests/support/cluster_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

namespace ferry::testing {
namespace {

std::uint16_t crc16_xmodem(std::string_view data) {
  std::uint16_t crc = 0;
  for (const char byte : data) {
    crc ^= static_cast<std::uint16_t>(static_cast<unsigned char>(byte) << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Parses "MOVED 3999 127.0.0.1:6381" / "ASK ..." into the target address.
std::pair<std::string, std::uint16_t> redirect_target(const std::string& error) {
  const auto space = error.rfind(' ');
  const auto colon = error.rfind(':');
  if (space == std::string::npos || colon == std::string::npos || colon < space) {
    throw std::runtime_error("unparsable redirect: " + error);
  }
  return {error.substr(space + 1, colon - space - 1),
          static_cast<std::uint16_t>(std::stoi(error.substr(colon + 1)))};
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

}  // namespace

std::uint16_t key_hash_slot(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return crc16_xmodem(key) & (cluster_slots - 1);
}

std::string key_in_slots(std::uint16_t first, std::uint16_t last, const std::string& prefix) {
  for (int n = 0; n < 100000; ++n) {
    std::string key = prefix + std::to_string(n);
    const auto slot = key_hash_slot(key);
    if (slot >= first && slot <= last) {
      return key;
    }
  }
  throw std::invalid_argument(
      fmt::format("key_in_slots: no key {}<n> in {}-{}", prefix, first, last));
}

const std::string& command_key(const std::vector<std::string>& argv) {
  if (argv.size() < 2) {
    throw std::invalid_argument("command_key: command has no key: " +
                                (argv.empty() ? std::string("(empty)") : printable(argv[0])));
  }
  const std::string name = upper(argv[0]);
  if (name == "XREAD" || name == "XREADGROUP") {
    for (std::size_t i = 1; i + 1 < argv.size(); ++i) {
      if (upper(argv[i]) == "STREAMS") {
        return argv[i + 1];
      }
    }
    throw std::invalid_argument("command_key: " + name + " without STREAMS");
  }
  // Container commands with a subcommand first: XGROUP CREATE key ..., XINFO STREAM key, ...
  if ((name == "XGROUP" || name == "XINFO" || name == "OBJECT" || name == "MEMORY") &&
      argv.size() >= 3) {
    return argv[2];
  }
  return argv[1];
}

cluster_client::cluster_client(client_options seed) : seed_(std::move(seed)) {
  node(seed_.host, seed_.port);
  refresh_slots();
}

sync_client& cluster_client::node(const std::string& host, std::uint16_t port) {
  auto& slot = nodes_[{host, port}];
  if (!slot) {
    client_options options = seed_;
    options.host = host;
    options.port = port;
    slot = std::make_unique<sync_client>(std::move(options));
  }
  return *slot;
}

void cluster_client::refresh_slots() {
  std::string last_error = "no node known";
  // Ask every node ever seen (open connections first, then replicas and the seed): after a
  // failover the nodes we were talking to may be the dead ones.
  std::vector<address> candidates;
  for (const auto& [where, client] : nodes_) {
    candidates.push_back(where);
  }
  candidates.insert(candidates.end(), seen_.begin(), seen_.end());
  candidates.emplace_back(seed_.host, seed_.port);
  std::set<address> tried;
  for (const auto& where : candidates) {
    if (!tried.insert(where).second) {
      continue;
    }
    try {
      const reply slots = node(where).command({"CLUSTER", "SLOTS"});
      if (slots.kind != reply_kind::array) {
        last_error = to_string(slots);
        continue;
      }
      std::vector<address> owner(cluster_slots);
      for (const auto& range : slots.elements) {
        for (std::size_t n = 2; n < range.elements.size(); ++n) {
          seen_.insert({range[n][0].str, static_cast<std::uint16_t>(range[n][1].integer)});
        }
        const address master{range[2][0].str, static_cast<std::uint16_t>(range[2][1].integer)};
        for (long long slot = range[0].integer; slot <= range[1].integer; ++slot) {
          owner[static_cast<std::size_t>(slot)] = master;
        }
      }
      slot_owner_ = std::move(owner);
      return;
    } catch (const std::exception& e) {
      last_error = e.what();
      nodes_.erase(where);  // a dead connection is reopened on next use
    }
  }
  throw std::runtime_error("cluster_client: cannot load the slot map: " + last_error);
}

sync_client& cluster_client::master_for_slot(std::uint16_t slot) {
  const address& owner = slot_owner_.at(slot);
  if (owner.first.empty()) {
    throw std::runtime_error(fmt::format("cluster_client: slot {} has no owner", slot));
  }
  return node(owner);
}

std::vector<sync_client*> cluster_client::masters() {
  std::set<address> owners;
  for (const auto& owner : slot_owner_) {
    if (!owner.first.empty()) {
      owners.insert(owner);
    }
  }
  std::vector<address> sorted(owners.begin(), owners.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const address& a, const address& b) { return a.second < b.second; });
  std::vector<sync_client*> out;
  for (const auto& where : sorted) {
    out.push_back(&node(where));
  }
  return out;
}

reply cluster_client::follow_redirects(const std::vector<std::string>& argv, reply answer) {
  using namespace std::chrono_literals;
  for (int attempt = 0; attempt < 5 && answer.is_error(); ++attempt) {
    if (starts_with(answer.str, "MOVED ")) {
      refresh_slots();
      answer = node(redirect_target(answer.str)).command(argv);
    } else if (starts_with(answer.str, "ASK ")) {
      auto replies = node(redirect_target(answer.str)).pipeline({{"ASKING"}, argv});
      answer = std::move(replies.at(1));
    } else if (starts_with(answer.str, "TRYAGAIN") || starts_with(answer.str, "CLUSTERDOWN")) {
      std::this_thread::sleep_for(100ms);
      answer = master_for_slot(key_hash_slot(command_key(argv))).command(argv);
    } else {
      break;
    }
  }
  return answer;
}

reply cluster_client::command(const std::vector<std::string>& argv) {
  sync_client& owner = master_for_slot(key_hash_slot(command_key(argv)));
  return follow_redirects(argv, owner.command(argv));
}

reply cluster_client::checked(const std::vector<std::string>& argv) {
  reply answer = command(argv);
  if (answer.is_error()) {
    throw std::runtime_error(fmt::format("{} {} failed in the cluster: {}", printable(argv.at(0)),
                                         printable(command_key(argv)), answer.str));
  }
  return answer;
}

std::vector<reply> cluster_client::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  // Group by owner, keeping each command's index so replies return in the caller's order.
  std::map<address, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    groups[slot_owner_.at(key_hash_slot(command_key(cmds[i])))].push_back(i);
  }
  std::vector<reply> replies(cmds.size());
  for (const auto& [owner, indexes] : groups) {
    if (owner.first.empty()) {
      throw std::runtime_error("cluster_client: a key's slot has no owner");
    }
    std::vector<std::vector<std::string>> batch;
    batch.reserve(indexes.size());
    for (const std::size_t i : indexes) {
      batch.push_back(cmds[i]);
    }
    std::vector<reply> answers = node(owner).pipeline(batch);
    for (std::size_t j = 0; j < indexes.size(); ++j) {
      replies[indexes[j]] = std::move(answers[j]);
    }
  }
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    if (replies[i].is_error()) {
      replies[i] = follow_redirects(cmds[i], std::move(replies[i]));
    }
  }
  return replies;
}

}  // namespace ferry::testing
