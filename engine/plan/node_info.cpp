#include "engine/plan/node_info.hpp"

#include <algorithm>
#include <array>
#include <unordered_map>

namespace ferry::engine {
namespace {

using protocol::info_number;
using protocol::info_text;
using protocol::info_unsigned;

// Commands with the "write" flag in Redis 7.0 and 7.4 (COMMAND), plus the names older and newer
// servers use in INFO commandstats (Redis < 7 counts "xgroup" whole; Redis 8's hash commands).
// Sorted, for binary search.
// clang-format off
constexpr std::array write_commands = {
    "append", "bitfield", "bitop", "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop",
    "bzpopmax", "bzpopmin", "copy", "decr", "decrby", "del", "expire", "expireat", "flushall",
    "flushdb", "function|delete", "function|flush", "function|load", "function|restore", "geoadd",
    "georadius", "georadiusbymember", "geosearchstore", "getdel", "getex", "getset", "hdel",
    "hexpire", "hexpireat", "hgetdel", "hgetex", "hincrby", "hincrbyfloat", "hmset", "hpersist",
    "hpexpire", "hpexpireat", "hset", "hsetex", "hsetnx", "incr", "incrby", "incrbyfloat",
    "linsert", "lmove", "lmpop", "lpop", "lpush", "lpushx", "lrem", "lset", "ltrim", "migrate",
    "move", "mset", "msetnx", "persist", "pexpire", "pexpireat", "pfadd", "pfdebug", "pfmerge",
    "psetex", "rename", "renamenx", "restore", "restore-asking", "rpop", "rpoplpush", "rpush",
    "rpushx", "sadd", "sdiffstore", "set", "setbit", "setex", "setnx", "setrange", "sinterstore",
    "smove", "sort", "spop", "srem", "sunionstore", "swapdb", "unlink", "xack", "xadd",
    "xautoclaim", "xclaim", "xdel", "xgroup", "xgroup|create", "xgroup|createconsumer",
    "xgroup|delconsumer", "xgroup|destroy", "xgroup|setid", "xreadgroup", "xsetid", "xtrim",
    "zadd", "zdiffstore", "zincrby", "zinterstore", "zmpop", "zpopmax", "zpopmin", "zrangestore",
    "zrem", "zremrangebylex", "zremrangebyrank", "zremrangebyscore", "zunionstore",
};
// clang-format on

// Commands with the "readonly" flag (and no "write" flag) in Redis 7.0 and 7.4, plus the older
// whole names ("xinfo", "object", "memory").
// clang-format off
constexpr std::array read_commands = {
    "bitcount", "bitfield_ro", "bitpos", "dbsize", "dump", "eval_ro", "evalsha_ro", "exists",
    "expiretime", "fcall_ro", "geodist", "geohash", "geopos", "georadius_ro",
    "georadiusbymember_ro", "geosearch", "get", "getbit", "getrange", "hexists", "hexpiretime",
    "hget", "hgetall", "hkeys", "hlen", "hmget", "hpexpiretime", "hpttl", "hrandfield", "hscan",
    "hstrlen", "httl", "hvals", "keys", "lcs", "lindex", "llen", "lolwut", "lpos", "lrange",
    "memory", "memory|usage", "mget", "object", "object|encoding", "object|freq",
    "object|idletime", "object|refcount", "pexpiretime", "pfcount", "pttl", "randomkey", "scan",
    "scard", "sdiff", "sinter", "sintercard", "sismember", "smembers", "smismember", "sort_ro",
    "srandmember", "sscan", "strlen", "substr", "sunion", "touch", "ttl", "type", "xinfo",
    "xinfo|consumers", "xinfo|groups", "xinfo|stream", "xlen", "xpending", "xrange", "xread",
    "xrevrange", "zcard", "zcount", "zdiff", "zinter", "zintercard", "zlexcount", "zmscore",
    "zrandmember", "zrange", "zrangebylex", "zrangebyscore", "zrank", "zrevrange",
    "zrevrangebylex", "zrevrangebyscore", "zrevrank", "zscan", "zscore", "zunion",
};
// clang-format on

// Commands that can name several keys, which a cluster wants in one slot.
// clang-format off
constexpr std::array multi_key_commands = {
    "bitop", "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "bzmpop", "bzpopmax", "bzpopmin",
    "copy", "del", "eval", "eval_ro", "evalsha", "evalsha_ro", "exec", "exists", "fcall",
    "fcall_ro", "georadius", "georadiusbymember", "geosearchstore", "lmove", "lmpop", "mget",
    "mset", "msetnx", "pfcount", "pfmerge", "rename", "renamenx", "rpoplpush", "sdiff",
    "sdiffstore", "sinter", "sintercard", "sinterstore", "smove", "sort", "sort_ro", "sunion",
    "sunionstore", "touch", "unlink", "xread", "xreadgroup", "zdiff", "zdiffstore", "zinter",
    "zintercard", "zinterstore", "zmpop", "zrangestore", "zunion", "zunionstore",
};
// clang-format on

// The multi-key commands the Enterprise clustering policy runs across slots (architecture page).
// clang-format off
constexpr std::array enterprise_cross_slot = {
    "del", "exists", "mget", "mset", "touch", "unlink",
};
// clang-format on

template <std::size_t n>
bool listed(const std::array<const char*, n>& names, std::string_view command) noexcept {
  return std::binary_search(names.begin(), names.end(), command,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

}  // namespace

std::uint64_t movable_bytes(const memory_figures& m) noexcept {
  const std::uint64_t server_own = m.startup + m.clients_normal + m.clients_replicas +
                                   m.replication_backlog + m.aof_buffer + m.eval_scripts +
                                   m.cluster_links;
  return m.used > server_own ? m.used - server_own : 0;
}

std::uint64_t node_info::total_keys() const noexcept {
  std::uint64_t total = 0;
  for (const auto& db : keyspace) total += db.keys;
  return total;
}

std::uint64_t node_info::keys_in(int db) const noexcept {
  for (const auto& entry : keyspace) {
    if (entry.db == db) return entry.keys;
  }
  return 0;
}

node_info parse_node_info(std::string_view info) {
  node_info node;
  const auto count = [&](std::string_view name) { return info_unsigned(info, name).value_or(0); };
  node.version_text = std::string(info_text(info, "redis_version"));
  node.version = protocol::parse_server_version(node.version_text);
  node.valkey_version = std::string(info_text(info, "valkey_version"));
  if (!node.valkey_version.empty() || info_text(info, "server_name") == "valkey") {
    node.flavour = "valkey";
  }
  node.mode = std::string(info_text(info, "redis_mode"));
  node.role = std::string(info_text(info, "role"));
  node.run_id = std::string(info_text(info, "run_id"));
  node.uptime_s = count("uptime_in_seconds");

  memory_figures& m = node.memory;
  m.used = count("used_memory");
  m.peak = count("used_memory_peak");
  m.startup = count("used_memory_startup");
  m.dataset = count("used_memory_dataset");
  m.rss = count("used_memory_rss");
  m.clients_normal = count("mem_clients_normal");
  m.clients_replicas = count("mem_clients_slaves");
  // Redis >= 7 shares replication buffers between the backlog and replicas and reports both.
  m.replication_backlog = count("mem_replication_backlog");
  m.aof_buffer = count("mem_aof_buffer");
  m.eval_scripts = info_unsigned(info, "used_memory_scripts_eval")
                       .value_or(info_unsigned(info, "used_memory_scripts").value_or(0));
  m.cluster_links = count("mem_cluster_links");
  m.maxmemory = count("maxmemory");
  m.policy = std::string(info_text(info, "maxmemory_policy"));
  m.fragmentation = info_number(info, "mem_fragmentation_ratio").value_or(0);

  node.connected_clients = count("connected_clients");
  node.maxclients = count("maxclients");
  node.connected_replicas = count("connected_slaves");
  node.cpu_seconds = info_number(info, "used_cpu_sys").value_or(0) +
                     info_number(info, "used_cpu_user").value_or(0);
  node.total_commands = count("total_commands_processed");
  node.instantaneous_ops = count("instantaneous_ops_per_sec");
  node.net_input_bytes = count("total_net_input_bytes");
  node.net_output_bytes = count("total_net_output_bytes");
  node.expired_keys = count("expired_keys");
  node.evicted_keys = count("evicted_keys");
  node.cluster_enabled = info_text(info, "cluster_enabled") == "1";
  node.keyspace = protocol::parse_keyspace(info);
  node.commands = protocol::parse_commandstats(info);
  node.modules = protocol::parse_modules(info);
  return node;
}

command_kind kind_of(std::string_view command) noexcept {
  if (listed(write_commands, command)) return command_kind::write;
  if (listed(read_commands, command)) return command_kind::read;
  return command_kind::other;
}

bool multi_key(std::string_view command, bool enterprise_allowed_too) noexcept {
  if (!listed(multi_key_commands, command)) return false;
  return enterprise_allowed_too || !listed(enterprise_cross_slot, command);
}

command_mix mix_of(const std::vector<protocol::command_stat>& stats) noexcept {
  command_mix mix;
  for (const auto& stat : stats) {
    switch (kind_of(stat.name)) {
      case command_kind::write:
        mix.writes += stat.calls;
        break;
      case command_kind::read:
        mix.reads += stat.calls;
        break;
      case command_kind::other:
        mix.other += stat.calls;
        break;
    }
  }
  return mix;
}

std::vector<protocol::command_stat> command_delta(
    const std::vector<protocol::command_stat>& before,
    const std::vector<protocol::command_stat>& after) {
  std::unordered_map<std::string_view, const protocol::command_stat*> earlier;
  for (const auto& stat : before) earlier.emplace(stat.name, &stat);
  std::vector<protocol::command_stat> delta;
  for (const auto& stat : after) {
    protocol::command_stat d = stat;
    if (const auto it = earlier.find(stat.name);
        it != earlier.end() && it->second->calls <= stat.calls) {
      const protocol::command_stat& b = *it->second;
      d.calls -= b.calls;
      d.usec = d.usec >= b.usec ? d.usec - b.usec : d.usec;
      d.rejected_calls = d.rejected_calls >= b.rejected_calls ? d.rejected_calls - b.rejected_calls
                                                              : d.rejected_calls;
      d.failed_calls =
          d.failed_calls >= b.failed_calls ? d.failed_calls - b.failed_calls : d.failed_calls;
    }
    if (d.calls != 0 || d.rejected_calls != 0 || d.failed_calls != 0) delta.push_back(std::move(d));
  }
  return delta;
}

}  // namespace ferry::engine
