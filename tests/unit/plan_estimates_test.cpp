// The plan's arithmetic: INFO parsing, movable memory, size and time estimates, traffic windows
// (engine/plan/node_info, sizing, inspector's traffic_between).

#include <gtest/gtest.h>

#include "engine/plan/inspector.hpp"
#include "engine/plan/node_info.hpp"
#include "engine/plan/sizing.hpp"

namespace ferry::engine {
namespace {

// Trimmed from a real Redis 7.0.15 INFO all after DEBUG POPULATE 200000.
constexpr std::string_view info_all =
    "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\nrun_id:7b2c\r\n"
    "uptime_in_seconds:7200\r\n\r\n"
    "# Clients\r\nconnected_clients:3\r\nmaxclients:10000\r\n\r\n"
    "# Memory\r\nused_memory:38235904\r\nused_memory_peak:40000000\r\n"
    "used_memory_startup:876048\r\nused_memory_dataset:27262504\r\nused_memory_rss:45000000\r\n"
    "used_memory_scripts_eval:1000\r\nused_memory_scripts:1200\r\nmaxmemory:0\r\n"
    "maxmemory_policy:noeviction\r\nmem_fragmentation_ratio:1.18\r\n"
    "mem_replication_backlog:20000\r\nmem_clients_slaves:300\r\nmem_clients_normal:44000\r\n"
    "mem_cluster_links:0\r\nmem_aof_buffer:8\r\n\r\n"
    "# Stats\r\ntotal_commands_processed:720000\r\ninstantaneous_ops_per_sec:12\r\n"
    "total_net_input_bytes:1000\r\ntotal_net_output_bytes:2000\r\nexpired_keys:5\r\n"
    "evicted_keys:0\r\n\r\n"
    "# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\r\n"
    "# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.25\r\n\r\n"
    "# Modules\r\nmodule:name=ReJSON,ver=20607,api=1,filters=0,usedby=[],using=[],options=[]\r\n"
    "\r\n# Commandstats\r\n"
    "cmdstat_set:calls=3600,usec=10,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_get:calls=7200,usec=10,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_info:calls=10,usec=10,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n"
    "\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n"
    "# Keyspace\r\ndb0:keys=200000,expires=10,avg_ttl=5000\r\ndb2:keys=5,expires=0,avg_ttl=0\r\n";

TEST(parse_node_info, reads_every_figure_the_plan_uses) {
  const node_info n = parse_node_info(info_all);
  EXPECT_EQ(n.version_text, "7.0.15");
  EXPECT_EQ(n.version, (protocol::server_version{7, 0}));
  EXPECT_EQ(n.flavour, "redis");
  EXPECT_EQ(n.role, "master");
  EXPECT_EQ(n.uptime_s, 7200u);
  EXPECT_EQ(n.memory.used, 38235904u);
  EXPECT_EQ(n.memory.startup, 876048u);
  EXPECT_EQ(n.memory.eval_scripts, 1000u);  // the eval cache only, not functions
  EXPECT_EQ(n.memory.policy, "noeviction");
  EXPECT_DOUBLE_EQ(n.memory.fragmentation, 1.18);
  EXPECT_EQ(n.connected_clients, 3u);
  EXPECT_EQ(n.connected_replicas, 1u);
  EXPECT_DOUBLE_EQ(n.cpu_seconds, 3.75);
  EXPECT_EQ(n.total_commands, 720000u);
  EXPECT_FALSE(n.cluster_enabled);
  EXPECT_EQ(n.total_keys(), 200005u);
  EXPECT_EQ(n.keys_in(2), 5u);
  EXPECT_EQ(n.keys_in(7), 0u);
  ASSERT_EQ(n.modules.size(), 1u);
  EXPECT_EQ(n.modules[0].name, "ReJSON");
  ASSERT_EQ(n.commands.size(), 3u);

  const node_info valkey = parse_node_info("redis_version:7.2.4\r\nvalkey_version:8.0.1\r\n");
  EXPECT_EQ(valkey.flavour, "valkey");
  EXPECT_EQ(valkey.valkey_version, "8.0.1");
}

TEST(movable_bytes, is_used_memory_less_the_servers_own) {
  const node_info n = parse_node_info(info_all);
  // 38235904 - (876048 startup + 44000 clients + 300 replicas + 20000 backlog + 8 aof + 1000)
  EXPECT_EQ(movable_bytes(n.memory), 38235904u - 876048u - 44000u - 300u - 20000u - 8u - 1000u);
  memory_figures empty;
  empty.used = 100;
  empty.startup = 200;
  EXPECT_EQ(movable_bytes(empty), 0u);
}

TEST(commands, are_classified_as_their_flags_say) {
  EXPECT_EQ(kind_of("set"), command_kind::write);
  EXPECT_EQ(kind_of("xgroup|create"), command_kind::write);
  EXPECT_EQ(kind_of("xgroup"), command_kind::write);  // Redis < 7 counts it whole
  EXPECT_EQ(kind_of("restore"), command_kind::write);
  EXPECT_EQ(kind_of("get"), command_kind::read);
  EXPECT_EQ(kind_of("dump"), command_kind::read);
  EXPECT_EQ(kind_of("memory|usage"), command_kind::read);
  EXPECT_EQ(kind_of("scan"), command_kind::read);
  EXPECT_EQ(kind_of("info"), command_kind::other);
  EXPECT_EQ(kind_of("client|setname"), command_kind::other);
  EXPECT_EQ(kind_of("eval"), command_kind::other);
  EXPECT_EQ(kind_of("json.set"), command_kind::other);
  EXPECT_TRUE(multi_key("sunionstore", false));
  EXPECT_TRUE(multi_key("mset", true));
  EXPECT_FALSE(multi_key("mset", false));  // the Enterprise policy runs it across slots
  EXPECT_FALSE(multi_key("get", true));

  const auto mix = mix_of(parse_node_info(info_all).commands);
  EXPECT_EQ(mix.writes, 3600u);
  EXPECT_EQ(mix.reads, 7200u);
  EXPECT_EQ(mix.other, 10u);
}

TEST(command_delta, subtracts_command_by_command) {
  const std::vector<protocol::command_stat> before = {{"get", 10, 5, 0, 0}, {"set", 4, 2, 0, 0}};
  const std::vector<protocol::command_stat> after = {
      {"get", 15, 9, 0, 0}, {"set", 4, 2, 0, 0}, {"del", 2, 1, 0, 0}};
  const auto d = command_delta(before, after);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].name, "get");
  EXPECT_EQ(d[0].calls, 5u);
  EXPECT_EQ(d[1].name, "del");
  EXPECT_EQ(d[1].calls, 2u);
  // A reset in between: the new counters count whole.
  const auto reset = command_delta(after, {{"get", 3, 1, 0, 0}});
  ASSERT_EQ(reset.size(), 1u);
  EXPECT_EQ(reset[0].calls, 3u);
}

TEST(traffic_between, takes_ferrys_own_commands_out) {
  node_info before = parse_node_info(info_all);
  node_info after = before;
  after.total_commands += 1000;  // 1000 commands in 5 s, of which ferry sent 400 (300 reads)
  after.commands = {{"set", 3600 + 200, 0, 0, 0}, {"get", 7200 + 700, 0, 0, 0}};
  after.cpu_seconds += 0.5;
  after.net_input_bytes += 5000;
  const traffic_window w = traffic_between(before, after, 5.0, 400, 300);
  EXPECT_EQ(w.commands, 600u);
  EXPECT_EQ(w.writes, 200u);
  EXPECT_EQ(w.reads, 400u);
  EXPECT_DOUBLE_EQ(w.ops_per_sec(), 120);
  EXPECT_DOUBLE_EQ(w.writes_per_sec(), 40);
  EXPECT_DOUBLE_EQ(w.cpu_seconds, 0.5);
  EXPECT_EQ(w.net_input_bytes, 5000u);
  // Never negative, even when ferry's count exceeds the server's (a counter reset).
  EXPECT_EQ(traffic_between(after, before, 1, 5, 5).commands, 0u);
}

TEST(estimate_size, adds_the_headroom_then_the_reserve) {
  const size_estimate e = estimate_size(1'000'000'000, 900'000, 0.25, 0.2);
  EXPECT_EQ(e.data_bytes, 1'000'000'000u);
  EXPECT_EQ(e.target_used_bytes, 1'000'900'000u);
  EXPECT_EQ(e.with_headroom_bytes, 1'250'000'000u);
  EXPECT_EQ(e.sku_bytes, 1'562'500'000u);
  EXPECT_EQ(estimate_size(0, 0, 0.1, 0.2).sku_bytes, 0u);
}

TEST(estimate_time, masters_copy_in_parallel_and_the_slowest_decides) {
  const std::vector<master_load> masters = {{"a:1", 100'000, 0, 50'000, 100},
                                            {"b:1", 300'000, 0, 100'000, 20'000}};
  const time_estimate t = estimate_time(masters);
  ASSERT_EQ(t.master_seconds.size(), 2u);
  EXPECT_DOUBLE_EQ(*t.master_seconds[0], 2.0);
  EXPECT_DOUBLE_EQ(*t.master_seconds[1], 3.0);
  EXPECT_DOUBLE_EQ(*t.copy_seconds, 3.0);
  EXPECT_DOUBLE_EQ(t.writes_per_sec, 20'100);
  // b: half of 100k keys/s = 50k spare for 20k writes/s: 2.5; a: 25k for 100: 250.
  EXPECT_DOUBLE_EQ(*t.sync_margin, 2.5);
  EXPECT_TRUE(*t.sync_keeps_up);

  // A copy limited to 40k keys/s overall: a gets 10k (a quarter), b 30k.
  const time_estimate limited = estimate_time(masters, 40'000);
  EXPECT_DOUBLE_EQ(*limited.master_seconds[0], 10.0);
  EXPECT_DOUBLE_EQ(*limited.copy_seconds, 10.0);

  // Writes beyond half the DUMP rate: sync falls behind.
  const time_estimate busy = estimate_time({{"a:1", 10, 0, 10'000, 6'000}});
  EXPECT_FALSE(*busy.sync_keeps_up);
  // An unmeasured master leaves the totals unknown.
  const time_estimate unknown = estimate_time({{"a:1", 10, 0, 0, 0}, {"b:1", 10, 0, 10, 0}});
  EXPECT_FALSE(unknown.copy_seconds);
  EXPECT_FALSE(unknown.sync_keeps_up);
}

TEST(human_duration, reads_naturally) {
  EXPECT_EQ(human_duration(0.34), "0.3 s");
  EXPECT_EQ(human_duration(40), "40 s");
  EXPECT_EQ(human_duration(600), "10 min");
  EXPECT_EQ(human_duration(7500), "2 h 5 min");
}

}  // namespace
}  // namespace ferry::engine
