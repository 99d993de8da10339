#include "engine/transfer/value_type.hpp"

namespace ferry::engine {

std::string_view name_of(value_type type) noexcept {
  switch (type) {
    case value_type::unknown:
      return "unknown";
    case value_type::none:
      return "none";
    case value_type::string:
      return "string";
    case value_type::list:
      return "list";
    case value_type::set:
      return "set";
    case value_type::zset:
      return "zset";
    case value_type::hash:
      return "hash";
    case value_type::stream:
      return "stream";
    case value_type::module:
      return "module";
  }
  return "unknown";
}

value_type type_from_reply(std::string_view type) noexcept {
  if (type == "string") return value_type::string;
  if (type == "list") return value_type::list;
  if (type == "set") return value_type::set;
  if (type == "zset") return value_type::zset;
  if (type == "hash") return value_type::hash;
  if (type == "stream") return value_type::stream;
  if (type == "none") return value_type::none;
  return type.empty() ? value_type::unknown : value_type::module;
}

value_type type_from_rdb(std::uint8_t rdb_type) noexcept {
  switch (rdb_type) {
    case 0:
      return value_type::string;
    case 1:   // linked list
    case 10:  // ziplist
    case 14:  // quicklist
    case 18:  // quicklist 2
      return value_type::list;
    case 2:   // hash table
    case 11:  // intset
    case 20:  // listpack
      return value_type::set;
    case 3:   // text scores
    case 5:   // binary scores
    case 12:  // ziplist
    case 17:  // listpack
      return value_type::zset;
    case 4:   // hash table
    case 9:   // zipmap
    case 13:  // ziplist
    case 16:  // listpack
    case 22:  // 7.4 RC field-expiry hashes
    case 23:
    case 24:  // 7.4 field-expiry hashes (metadata, listpack-ex)
    case 25:
      return value_type::hash;
    case 15:  // listpacks 1, 2, 3
    case 19:
    case 21:
      return value_type::stream;
    case 6:
    case 7:
      return value_type::module;
    default:
      return value_type::unknown;
  }
}

}  // namespace ferry::engine
