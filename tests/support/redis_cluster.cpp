#include "tests/support/redis_cluster.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace ferry::testing {
namespace {

using namespace std::chrono_literals;

bool has_flag(const std::string& flags, const std::string& flag) {
  std::istringstream in(flags);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == flag) {
      return true;
    }
  }
  return false;
}

// A view of the cluster that every healthy node must report identically: ids, roles, masters,
// slots and the (agreed) fail flag. PFAIL is one node's private suspicion, so it is left out.
std::string canonical_view(const std::vector<cluster_node_info>& nodes) {
  std::vector<std::string> lines;
  for (const auto& node : nodes) {
    std::string line = fmt::format("{} {}:{} {} {}", node.id, node.host, node.port,
                                   node.master ? "master" : "replica-of", node.master_id);
    for (const auto& span : node.slots) {
      line += fmt::format(" {}-{}", span.first, span.last);
    }
    if (has_flag(node.flags, "fail")) {
      line += " FAIL";
    }
    lines.push_back(std::move(line));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) {
    out += "  " + line + "\n";
  }
  return out;
}

client_options quick(client_options options) {
  options.timeout = 1000ms;  // a paused or dying node must not stall a wait loop for long
  return options;
}

}  // namespace

std::vector<cluster_node_info> parse_cluster_nodes(const std::string& text) {
  std::vector<cluster_node_info> nodes;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::vector<std::string> parts;
    for (std::string field; fields >> field;) {
      parts.push_back(field);
    }
    if (parts.size() < 8) {
      continue;
    }
    cluster_node_info node;
    node.id = parts[0];
    // ip:port@cport[,hostname]
    const std::string& address = parts[1];
    const auto colon = address.rfind(':', address.find('@'));
    node.host = address.substr(0, colon);
    node.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
    std::string flags;
    std::istringstream flag_list(parts[2]);
    for (std::string flag; std::getline(flag_list, flag, ',');) {
      if (flag != "myself") {
        flags += (flags.empty() ? "" : ",") + flag;
      }
    }
    node.flags = flags;
    node.master = has_flag(flags, "master");
    node.master_id = parts[3] == "-" ? std::string() : parts[3];
    for (std::size_t i = 8; i < parts.size(); ++i) {
      if (parts[i].front() == '[') {
        continue;  // [slot->-importing-id] / [slot-<-migrating-id]
      }
      const auto dash = parts[i].find('-');
      const int first = std::stoi(parts[i].substr(0, dash));
      const int last = dash == std::string::npos ? first : std::stoi(parts[i].substr(dash + 1));
      node.slots.push_back({static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)});
    }
    std::sort(node.slots.begin(), node.slots.end(),
              [](slot_span a, slot_span b) { return a.first < b.first; });
    nodes.push_back(std::move(node));
  }
  return nodes;
}

const cluster_node_info* slot_owner(const std::vector<cluster_node_info>& view,
                                    std::uint16_t slot) {
  for (const auto& node : view) {
    if (node.master && !has_flag(node.flags, "fail") && node.owns(slot)) {
      return &node;
    }
  }
  return nullptr;
}

int covered_slots(const std::vector<cluster_node_info>& view) {
  int covered = 0;
  for (const auto& node : view) {
    if (node.master && !has_flag(node.flags, "fail")) {
      for (const auto& span : node.slots) {
        covered += span.last - span.first + 1;
      }
    }
  }
  return covered;
}

redis_cluster::redis_cluster(cluster_options options) : options_(std::move(options)) {
  if (options_.masters < 1 || options_.replicas_per_master < 0) {
    throw std::invalid_argument("redis_cluster: need at least one master");
  }
  const int m = options_.masters;
  for (int i = 0; i < m; ++i) {
    slots_.push_back({{static_cast<std::uint16_t>(i * cluster_slots / m),
                       static_cast<std::uint16_t>((i + 1) * cluster_slots / m - 1)}});
  }
  start_nodes();
  form();
}

redis_cluster::~redis_cluster() = default;

std::vector<redis_server*> redis_cluster::nodes() const {
  std::vector<redis_server*> out;
  for (const auto& node : masters_) {
    out.push_back(node.get());
  }
  for (const auto& node : replicas_) {
    out.push_back(node.get());
  }
  return out;
}

std::vector<pid_t> redis_cluster::pids() const {
  std::vector<pid_t> out;
  for (const auto* node : nodes()) {
    out.push_back(node->pid());
  }
  return out;
}

void redis_cluster::start_nodes() {
  const int total = options_.masters * (1 + options_.replicas_per_master);
  std::string last_error;
  for (int attempt = 0; attempt < std::max(1, options_.max_port_attempts); ++attempt) {
    masters_.clear();
    replicas_.clear();
    // Distinct ports whose bus ports (+10000) collide with no other node's port either.
    std::set<int> taken;
    std::vector<std::uint16_t> ports;
    while (static_cast<int>(ports.size()) < total) {
      const std::uint16_t port = pick_free_port(true);
      if (taken.count(port) == 0 && taken.count(port + 10000) == 0) {
        taken.insert(port);
        taken.insert(port + 10000);
        ports.push_back(port);
      }
    }
    try {
      for (int i = 0; i < total; ++i) {
        server_options node = options_.node;
        node.cluster_enabled = true;
        node.port = ports[static_cast<std::size_t>(i)];
        node.rdb_file.clear();
        node.max_port_attempts = 1;
        const bool master = i < options_.masters;
        node.label = master ? fmt::format("cluster-m{}", i)
                            : fmt::format("cluster-r{}", i - options_.masters);
        (master ? masters_ : replicas_).push_back(std::make_unique<redis_server>(node));
      }
      return;
    } catch (const port_in_use_error& e) {
      last_error = e.what();
    }
  }
  masters_.clear();
  replicas_.clear();
  throw std::runtime_error("redis_cluster: could not find free ports: " + last_error);
}

void redis_cluster::wait_for(const std::string& what, std::chrono::milliseconds timeout,
                             const std::function<std::string()>& problem) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  for (;;) {
    try {
      last = problem();
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (last.empty()) {
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error(fmt::format("redis_cluster: {} not reached within {} ms: {}", what,
                                           timeout.count(), last));
    }
    std::this_thread::sleep_for(50ms);
  }
}

void redis_cluster::form() {
  const auto all = nodes();
  std::vector<sync_client> clients;
  std::vector<std::string> ids;
  for (auto* node : all) {
    clients.emplace_back(node->connect_options());
    ids.push_back(clients.back().checked({"CLUSTER", "MYID"}).str);
  }
  master_ids_.assign(ids.begin(), ids.begin() + options_.masters);
  // Distinct epochs up front, as redis-cli does, instead of waiting for collision resolution.
  for (std::size_t i = 0; i < clients.size(); ++i) {
    clients[i].checked({"CLUSTER", "SET-CONFIG-EPOCH", std::to_string(i + 1)});
  }
  const bool ranges = masters_.front()->build().has_redis7_commands();
  for (std::size_t i = 0; i < masters_.size(); ++i) {
    for (const auto& span : slots_[i]) {
      if (ranges) {
        clients[i].checked(
            {"CLUSTER", "ADDSLOTSRANGE", std::to_string(span.first), std::to_string(span.last)});
      } else {
        // Before Redis 7.0 there is only ADDSLOTS, one argument per slot.
        std::vector<std::string> command{"CLUSTER", "ADDSLOTS"};
        for (int slot = span.first; slot <= span.last; ++slot) {
          command.push_back(std::to_string(slot));
        }
        clients[i].checked(command);
      }
    }
  }
  // Every pair meets directly: waiting for gossip to spread one MEET takes seconds.
  for (std::size_t i = 1; i < clients.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      clients[i].checked({"CLUSTER", "MEET", "127.0.0.1", std::to_string(all[j]->port())});
    }
  }
  wait_for("every node knowing every other node", options_.ready_timeout, [&]() -> std::string {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const auto view = parse_cluster_nodes(clients[i].checked({"CLUSTER", "NODES"}).str);
      std::set<std::string> seen;
      for (const auto& node : view) {
        if (has_flag(node.flags, "handshake") || has_flag(node.flags, "noaddr")) {
          return fmt::format("port {} still in handshake with {}", all[i]->port(), node.port);
        }
        seen.insert(node.id);
      }
      if (seen != std::set<std::string>(ids.begin(), ids.end())) {
        return fmt::format("port {} knows {} of {} nodes", all[i]->port(), seen.size(), ids.size());
      }
    }
    return {};
  });
  for (std::size_t r = 0; r < replicas_.size(); ++r) {
    clients[masters_.size() + r].checked(
        {"CLUSTER", "REPLICATE", master_ids_[r % masters_.size()]});
  }
  if (!replicas_.empty()) {
    wait_for("replicas in sync", options_.ready_timeout, [&]() -> std::string {
      for (const auto& replica : replicas_) {
        const auto info = replica->client().checked({"INFO", "replication"}).str;
        if (info_field(info, "master_link_status") != "up") {
          return fmt::format("replica {} master_link_status:{}", replica->port(),
                             info_field(info, "master_link_status"));
        }
      }
      for (const auto& master : masters_) {
        const auto info = master->client().checked({"INFO", "replication"}).str;
        if (info_field(info, "connected_slaves") != std::to_string(options_.replicas_per_master)) {
          return fmt::format("master {} connected_slaves:{}", master->port(),
                             info_field(info, "connected_slaves"));
        }
      }
      return {};
    });
  }
  wait_ready(options_.ready_timeout);
}

void redis_cluster::wait_ready(std::chrono::milliseconds timeout) const {
  wait_for("cluster_state:ok with one agreed slot map", timeout, [&]() -> std::string {
    std::string reference;
    std::uint16_t reference_port = 0;
    std::set<std::uint16_t> live_ports;
    for (auto* node : nodes()) {
      if (node->running()) {
        live_ports.insert(node->port());
      }
    }
    for (auto* node : nodes()) {
      if (live_ports.count(node->port()) == 0) {
        continue;
      }
      sync_client client(quick(node->connect_options()));
      const std::string state =
          info_field(client.checked({"CLUSTER", "INFO"}).str, "cluster_state");
      if (state != "ok") {
        return fmt::format("port {} cluster_state:{}", node->port(), state);
      }
      const auto view = parse_cluster_nodes(client.checked({"CLUSTER", "NODES"}).str);
      const std::string canonical = canonical_view(view);
      if (reference.empty()) {
        reference = canonical;
        reference_port = node->port();
        // Only masters whose process runs count: right after a kill the others still
        // believe the dead master serves its slots.
        std::vector<cluster_node_info> live;
        std::copy_if(view.begin(), view.end(), std::back_inserter(live),
                     [&](const cluster_node_info& n) { return live_ports.count(n.port) != 0; });
        const int covered = covered_slots(live);
        if (covered != cluster_slots) {
          return fmt::format("port {} sees {} of {} slots owned by running masters:\n{}",
                             node->port(), covered, cluster_slots, canonical);
        }
      } else if (canonical != reference) {
        return fmt::format("views differ; port {}:\n{}port {}:\n{}", reference_port, reference,
                           node->port(), canonical);
      }
    }
    return reference.empty() ? std::string("no node is running") : std::string();
  });
}

cluster_client redis_cluster::client() const {
  for (auto* node : nodes()) {
    if (node->running()) {
      return cluster_client(node->connect_options());
    }
  }
  throw std::runtime_error("redis_cluster::client: no node is running");
}

std::vector<cluster_node_info> redis_cluster::topology() const {
  for (auto* node : nodes()) {
    if (node->running()) {
      return parse_cluster_nodes(node->client().checked({"CLUSTER", "NODES"}).str);
    }
  }
  throw std::runtime_error("redis_cluster::topology: no node is running");
}

}  // namespace ferry::testing
