#include "tests/faults/injector.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <sstream>
#include <thread>
#include <utility>
#include <vector>

namespace ferry::testing::faults {
namespace {

using namespace std::chrono_literals;

std::string address_of(const redis_server& server) {
  return fmt::format("127.0.0.1:{}", server.port());
}

redis_server& server_for(const fault_step& step, fault_world& world) {
  return step.side == fault_side::source ? world.source() : world.target_node(step.node);
}

/// A fresh admin connection, so that killing "every normal client" cannot take ours along
/// between two commands.
sync_client admin(const redis_server& server, std::chrono::milliseconds timeout = 2s) {
  client_options options = server.connect_options();
  options.timeout = timeout;
  return sync_client(options);
}

/// The addr= of every client named "ferry" in CLIENT LIST.
std::vector<std::string> ferry_connections(sync_client& client) {
  std::vector<std::string> found;
  std::istringstream lines(client.checked({"CLIENT", "LIST"}).str);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" name=ferry ") == std::string::npos) continue;
    const auto at = line.find("addr=");
    if (at == std::string::npos) continue;
    found.push_back(line.substr(at + 5, line.find(' ', at) - at - 5));
  }
  return found;
}

std::string kill_clients(const fault_step& step, redis_server& server) {
  sync_client client = admin(server);
  if (step.variant == 2) {
    const auto connections = ferry_connections(client);
    if (connections.empty()) return "CLIENT KILL ADDR: no connection named ferry";
    // Which one: a function of the moment, so the same seed kills the same one.
    const auto pick = static_cast<std::size_t>(step.at * 1000) % connections.size();
    const reply killed = client.command({"CLIENT", "KILL", "ADDR", connections[pick]});
    return fmt::format("CLIENT KILL ADDR {} (1 of {} named ferry) on {}: {}", connections[pick],
                       connections.size(), address_of(server), to_string(killed));
  }
  const std::vector<std::string> filter = step.variant == 0
                                              ? std::vector<std::string>{"TYPE", "normal"}
                                              : std::vector<std::string>{"USER", "default"};
  std::vector<std::string> command{"CLIENT", "KILL"};
  command.insert(command.end(), filter.begin(), filter.end());
  command.insert(command.end(), {"SKIPME", "yes"});
  const reply killed = client.checked(command);
  return fmt::format("CLIENT KILL {} {} on {}: {} connection(s)", filter[0], filter[1],
                     address_of(server), killed.integer);
}

/// A destructive instant (a kill, a FLUSHALL) must fall inside ferry's job, not after it: ferry
/// is frozen (SIGSTOP) while the suite checks that it still runs and that its marks are still on
/// the target (a job removes them after its last look, just before it ends), the instant
/// happens, and ferry goes on (SIGCONT). What remains is the moment between ferry's last look
/// and the removal of its marks: no tool can see a loss after its last look.
class frozen_ferry {
 public:
  frozen_ferry(ferry_process& ferry, fault_world& world) : ferry_(ferry) {
    ferry_.signal(SIGSTOP);
    frozen_ = true;
    if (!ferry_.running()) {
      why_not_ = "ferry had ended";
    } else if (const auto marks = world.target_marks(); marks && *marks == 0) {
      why_not_ = "ferry's job had ended (its marks were gone from the target)";
    }
  }
  ~frozen_ferry() { thaw(); }
  frozen_ferry(const frozen_ferry&) = delete;
  frozen_ferry& operator=(const frozen_ferry&) = delete;
  /// Empty when the instant may happen; otherwise why it is skipped.
  const std::string& why_not() const { return why_not_; }
  void thaw() {
    if (std::exchange(frozen_, false)) ferry_.signal(SIGCONT);
  }

 private:
  ferry_process& ferry_;
  bool frozen_ = false;
  std::string why_not_;
};

std::string skipped(const fault_step& step, const frozen_ferry& frozen) {
  return fmt::format("{} skipped: {}", name_of(step.kind), frozen.why_not());
}

std::string restart_target(const fault_step& step, fault_world& world, ferry_process& ferry,
                           comeback how) {
  {
    frozen_ferry frozen(ferry, world);
    if (!frozen.why_not().empty()) return skipped(step, frozen);
    world.kill_target(step.node);
  }
  world.start_target(step.node, how);
  return fmt::format("kill -9 of {}, restarted {}", address_of(world.target_node(step.node)),
                     how == comeback::empty ? "empty"
                     : step.kind == fault_kind::target_restart_aof
                         ? "from its AOF (appendfsync always)"
                         : "from its RDB snapshot");
}

std::string restart_source(const fault_step& step, fault_world& world, ferry_process& ferry,
                           comeback how) {
  {
    frozen_ferry frozen(ferry, world);
    if (!frozen.why_not().empty()) return skipped(step, frozen);
    world.kill_source();
  }
  world.start_source(how);
  return fmt::format("kill -9 of the source {}, restarted {}", address_of(world.source()),
                     how == comeback::empty ? "empty" : "from its RDB snapshot");
}

std::string carry_out(const fault_step& step, fault_world& world, ferry_process& ferry) {
  switch (step.kind) {
    case fault_kind::target_restart_empty:
      return restart_target(step, world, ferry, comeback::empty);
    case fault_kind::target_restart_aof:
      return restart_target(step, world, ferry, comeback::from_disk);
    case fault_kind::target_restart_rdb: {
      admin(world.target_node(step.node), 10s).checked({"SAVE"});
      std::this_thread::sleep_for(step.duration);  // writes after the snapshot are lost
      return fmt::format("SAVE, {} ms, {}", step.duration.count(),
                         restart_target(step, world, ferry, comeback::from_disk));
    }
    case fault_kind::source_restart_empty:
      return restart_source(step, world, ferry, comeback::empty);
    case fault_kind::source_restart_persisted:
      return restart_source(step, world, ferry, comeback::from_disk);
    case fault_kind::client_kill:
      return kill_clients(step, server_for(step, world));
    case fault_kind::client_pause: {
      redis_server& server = server_for(step, world);
      admin(server).checked({"CLIENT", "PAUSE", std::to_string(step.duration.count()),
                             step.variant == 0 ? "ALL" : "WRITE"});
      std::this_thread::sleep_for(step.duration);
      return fmt::format("CLIENT PAUSE {} {} on {}", step.duration.count(),
                         step.variant == 0 ? "ALL" : "WRITE", address_of(server));
    }
    case fault_kind::debug_sleep: {
      redis_server& server = server_for(step, world);
      // The reply comes when the sleep is over.
      admin(server, step.duration + 10s)
          .checked({"DEBUG", "SLEEP", fmt::format("{:.3f}", step.duration.count() / 1000.0)});
      return fmt::format("DEBUG SLEEP {} ms on {}", step.duration.count(), address_of(server));
    }
    case fault_kind::server_stop: {
      redis_server& server = server_for(step, world);
      server.pause();
      std::this_thread::sleep_for(step.duration);
      server.resume();
      return fmt::format("SIGSTOP of {} for {} ms, then SIGCONT", address_of(server),
                         step.duration.count());
    }
    case fault_kind::target_flushall: {
      redis_server& node = world.target_node(step.node);
      frozen_ferry frozen(ferry, world);
      if (!frozen.why_not().empty()) return skipped(step, frozen);
      admin(node).checked({"FLUSHALL"});
      return fmt::format("FLUSHALL on {}", address_of(node));
    }
    case fault_kind::disk_full:
      world.fill_disk();
      return world.tmpfs() ? "the tmpfs of the output file filled up"
                           : "(no tmpfs: ferry runs under a file-size limit)";
    case fault_kind::ferry_kill:
      ferry.signal(SIGKILL);
      return "SIGKILL of ferry";
    case fault_kind::ferry_interrupt:
      ferry.signal(SIGINT);
      if (step.variant == 1) {
        std::this_thread::sleep_for(30ms);
        ferry.signal(SIGINT);
        return "SIGINT of ferry, twice";
      }
      return "SIGINT of ferry";
  }
  return "?";
}

}  // namespace

std::string inject(const fault_step& step, fault_world& world, ferry_process& ferry) {
  try {
    return carry_out(step, world, ferry);
  } catch (const std::exception& e) {
    return fmt::format("{} could not be injected: {}", name_of(step.kind), e.what());
  }
}

}  // namespace ferry::testing::faults
