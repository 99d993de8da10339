#include "protocol/rdb/format.hpp"

#include <array>

namespace ferry::protocol::rdb {
namespace {

// Type ids 0-25 as Redis defines them, with the RDB version that introduced each (from the
// history of src/rdb.h: RDB 2 = Redis 2.4, 4 = hash ziplists (2.6), 7 = 3.2, 8 = 4.0,
// 9 = 5.0, 10 = 7.0, 11 = 7.2, 12 = 7.4). `since == 0` marks ids that do not exist.
constexpr std::array<type_info, 26> redis_types{{
    {type::string, "string", value_kind::string, 1},
    {type::list, "list-linked", value_kind::list, 1},
    {type::set, "set-hashtable", value_kind::set, 1},
    {type::zset, "zset-v1", value_kind::zset, 1},
    {type::hash, "hash-hashtable", value_kind::hash, 1},
    {type::zset_2, "zset-v2", value_kind::zset, 8},
    {type::module_pre_ga, "module-pre-release", value_kind::module, 8},
    {type::module_2, "module-value", value_kind::module, 8},
    {8, "", value_kind::string, 0},
    {type::hash_zipmap, "hash-zipmap", value_kind::hash, 2},
    {type::list_ziplist, "list-ziplist", value_kind::list, 2},
    {type::set_intset, "set-intset", value_kind::set, 2},
    {type::zset_ziplist, "zset-ziplist", value_kind::zset, 2},
    {type::hash_ziplist, "hash-ziplist", value_kind::hash, 4},
    {type::list_quicklist, "quicklist", value_kind::list, 7},
    {type::stream_listpacks, "stream", value_kind::stream, 9},
    {type::hash_listpack, "hash-listpack", value_kind::hash, 10},
    {type::zset_listpack, "zset-listpack", value_kind::zset, 10},
    {type::list_quicklist_2, "quicklist-v2", value_kind::list, 10},
    {type::stream_listpacks_2, "stream-v2", value_kind::stream, 10},
    {type::set_listpack, "set-listpack", value_kind::set, 11},
    {type::stream_listpacks_3, "stream-v3", value_kind::stream, 11},
    {type::hash_metadata_pre_ga, "hash-hashtable-md-pre-release", value_kind::hash, 12},
    {type::hash_listpack_ex_pre_ga, "hash-listpack-md-pre-release", value_kind::hash, 12},
    {type::hash_metadata, "hash-hashtable-md", value_kind::hash, 12},
    {type::hash_listpack_ex, "hash-listpack-md", value_kind::hash, 12},
}};

constexpr type_info valkey_hash_2{type::valkey_hash_2, "hash-v2", value_kind::hash,
                                  version::valkey_first};

constexpr std::string_view module_charset =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string_view kind_name(value_kind kind) noexcept {
  switch (kind) {
    case value_kind::string:
      return "string";
    case value_kind::list:
      return "list";
    case value_kind::set:
      return "set";
    case value_kind::zset:
      return "zset";
    case value_kind::hash:
      return "hash";
    case value_kind::stream:
      return "stream";
    case value_kind::module:
      return "module";
  }
  return "unknown";
}

std::optional<type_info> describe_type(std::uint8_t id, std::uint16_t version) noexcept {
  if (flavor_of(version) == flavor::valkey) {
    if (id == type::valkey_hash_2) return valkey_hash_2;
    // Valkey 9 keeps every type of RDB 11 and added only HASH_2.
    if (id < redis_types.size() && redis_types[id].since != 0 &&
        redis_types[id].since <= version::redis_7_2) {
      return redis_types[id];
    }
    return std::nullopt;
  }
  if (id >= redis_types.size()) return std::nullopt;
  const type_info& info = redis_types[id];
  if (info.since == 0 || info.since > version) return std::nullopt;
  return info;
}

bool same_type_in(std::uint8_t id, std::uint16_t version, std::uint16_t target) noexcept {
  const auto mine = describe_type(id, version);
  const auto theirs = describe_type(id, target);
  return mine && theirs && mine->name == theirs->name;
}

bool accepts_version(std::uint16_t target, std::uint16_t version) noexcept {
  if (version < version::oldest) return false;
  if (flavor_of(target) == flavor::valkey) {
    return version <= version::redis_7_2 || (version >= version::valkey_first && version <= target);
  }
  return version <= target;
}

std::string module_name(std::uint64_t module_id) {
  std::string name(9, '?');
  std::uint64_t bits = module_id >> 10;
  for (int i = 8; i >= 0; --i) {
    name[static_cast<std::size_t>(i)] = module_charset[bits & 63];
    bits >>= 6;
  }
  return name;
}

}  // namespace ferry::protocol::rdb
