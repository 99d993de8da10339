#pragma once
// A cluster-aware wrapper over sync_client for test setup and oracles: computes key slots itself
// (CRC16/XMODEM + hash tags, written independently of ferry's protocol/key_slot), routes each
// command to the owning master, and follows MOVED and ASK.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// Number of hash slots.
inline constexpr int cluster_slots = 16384;

/// Redis Cluster hash slot of `key` (honours the first non-empty {tag}).
std::uint16_t key_hash_slot(std::string_view key);

/// The first key `<prefix><n>` (n = 0, 1, ...) whose slot lies in [first, last]; throws when
/// none of the first 100000 does. For tests that need a key on a particular shard.
std::string key_in_slots(std::uint16_t first, std::uint16_t last,
                         const std::string& prefix = "key:");

/// The key of a command: argv[1], except XREAD/XREADGROUP (first key after STREAMS) and
/// XGROUP/XINFO/OBJECT/MEMORY (argv[2], after the subcommand).
/// Throws for commands without a key.
const std::string& command_key(const std::vector<std::string>& argv);

/// One connection per cluster node, routing by slot. Not thread-safe.
class cluster_client : public key_router {
 public:
  /// Connects to `seed` and loads the slot map; every discovered node is reached with the seed's
  /// TLS, password and timeout settings (only host and port change).
  explicit cluster_client(client_options seed);

  /// Reloads the slot map with CLUSTER SLOTS from any reachable node (open connections, every
  /// node seen before, then the seed). Call it after a failover or resharding.
  void refresh_slots();
  /// Runs a keyed command on the owning master, following up to 5 MOVED/ASK redirects and
  /// retrying TRYAGAIN/CLUSTERDOWN briefly. The final reply is returned (errors included).
  reply command(const std::vector<std::string>& argv);
  /// Like `command` but throws on an error reply.
  reply checked(const std::vector<std::string>& argv);
  /// Groups keyed commands by owning master, pipelines each group, re-runs redirected ones
  /// one by one, and returns the replies in the original order.
  std::vector<reply> pipeline(const std::vector<std::vector<std::string>>& cmds);

  /// The master owning `slot` according to the current map.
  sync_client& master_for_slot(std::uint16_t slot);
  /// A connection to `host:port` (created on first use).
  sync_client& node(const std::string& host, std::uint16_t port);
  /// One connection per master in the current map, ordered by port.
  std::vector<sync_client*> masters();

  /// Same as `pipeline`.
  std::vector<reply> pipeline_keyed(const std::vector<std::vector<std::string>>& cmds) override {
    return pipeline(cmds);
  }
  /// Same as `masters()`.
  std::vector<sync_client*> shard_clients() override { return masters(); }

 private:
  using address = std::pair<std::string, std::uint16_t>;

  sync_client& node(const address& where) { return node(where.first, where.second); }
  reply follow_redirects(const std::vector<std::string>& argv, reply first);

  client_options seed_;
  std::map<address, std::unique_ptr<sync_client>> nodes_;
  std::vector<address> slot_owner_;  // index = slot
  std::set<address> seen_;           // every node CLUSTER SLOTS ever listed
};

}  // namespace ferry::testing
