#include "protocol/rdb/detail/walker.hpp"

#include <fmt/format.h>

#include "protocol/rdb/detail/primitives.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"

namespace ferry::protocol::rdb::detail {
namespace {

void skip_strings(input& in, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) skip_string(in);
}

void walk_stream(input& in, std::uint8_t type_id) {
  const std::uint64_t nodes = read_length(in, "a stream's node count");
  for (std::uint64_t i = 0; i < nodes; ++i) {
    skip_string(in);  // node key (master id)
    skip_string(in);  // listpack
  }
  read_length(in, "a stream's length");
  read_length(in, "a stream id");
  read_length(in, "a stream id");
  if (type_id != type::stream_listpacks) {
    for (int i = 0; i < 4; ++i) read_length(in, "a stream id");
    read_length(in, "a stream's entries-added");
  }
  const std::uint64_t groups = read_length(in, "a stream's group count");
  for (std::uint64_t g = 0; g < groups; ++g) {
    skip_string(in);
    read_length(in, "a stream id");
    read_length(in, "a stream id");
    if (type_id != type::stream_listpacks) read_length(in, "a group's entries-read");
    const std::uint64_t pel = read_length(in, "a group's pending count");
    for (std::uint64_t p = 0; p < pel; ++p) {
      in.skip(16 + 8);  // raw id, delivery time
      read_length(in, "a pending entry's delivery count");
    }
    const std::uint64_t consumers = read_length(in, "a group's consumer count");
    for (std::uint64_t k = 0; k < consumers; ++k) {
      skip_string(in);
      in.skip(type_id == type::stream_listpacks_3 ? 16 : 8);  // seen (and active) time
      const std::uint64_t owned = read_length(in, "a consumer's pending count");
      for (std::uint64_t p = 0; p < owned; ++p) in.skip(16);
    }
  }
}

}  // namespace

void walk_module_opcodes(input& in) {
  for (;;) {
    const std::uint64_t at = in.offset();
    const std::uint64_t op = read_length(in, "a module opcode");
    switch (op) {
      case module_opcode::eof:
        return;
      case module_opcode::sint:
      case module_opcode::uint:
        read_length(in, "a module integer");
        break;
      case module_opcode::float32:
        in.skip(4);
        break;
      case module_opcode::float64:
        in.skip(8);
        break;
      case module_opcode::string:
        skip_string(in);
        break;
      default:
        fail(errc::unknown_opcode, at, fmt::format("unknown module opcode {} at byte {}", op, at));
    }
  }
}

walk_facts walk_value(input& in, std::uint8_t type_id, std::uint16_t version) {
  walk_facts facts;
  const std::uint64_t at = in.offset();
  if (!describe_type(type_id, version)) {
    fail(errc::unknown_type, at,
         fmt::format("type id {} at byte {} is unknown in RDB version {} ({})", type_id, at,
                     version, servers_of_version(version)));
  }
  switch (type_id) {
    case type::string:
      skip_string(in);
      break;
    case type::list:
    case type::set:
      skip_strings(in, read_length(in, "a list or set"));
      break;
    case type::zset:
    case type::zset_2: {
      const std::uint64_t n = read_length(in, "a zset");
      for (std::uint64_t i = 0; i < n; ++i) {
        skip_string(in);
        if (type_id == type::zset_2) {
          in.skip(8);
        } else {
          skip_text_double(in);
        }
      }
      break;
    }
    case type::hash: {
      const std::uint64_t n = read_length(in, "a hash");
      for (std::uint64_t i = 0; i < n; ++i) skip_strings(in, 2);
      break;
    }
    case type::hash_metadata_pre_ga:  // == Valkey's HASH_2 at RDB 80+
    case type::hash_metadata: {
      const bool valkey = flavor_of(version) == flavor::valkey;
      if (!valkey && type_id == type::hash_metadata) in.skip(8);  // min expiry
      const std::uint64_t n = read_length(in, "a hash");
      for (std::uint64_t i = 0; i < n; ++i) {
        if (!valkey) read_length(in, "a hash field TTL");
        skip_string(in);
        skip_string(in);
        if (valkey) in.skip(8);
      }
      break;
    }
    case type::hash_listpack_ex:
      in.skip(8);  // min expiry
      skip_string(in);
      break;
    case type::list_quicklist:
    case type::list_quicklist_2: {
      const std::uint64_t nodes = read_length(in, "a quicklist");
      for (std::uint64_t i = 0; i < nodes; ++i) {
        if (type_id == type::list_quicklist_2) read_length(in, "a quicklist node container");
        skip_string(in);
      }
      break;
    }
    case type::stream_listpacks:
    case type::stream_listpacks_2:
    case type::stream_listpacks_3:
      walk_stream(in, type_id);
      break;
    case type::module_2: {
      facts.module_id = read_length(in, "a module id");
      walk_module_opcodes(in);
      break;
    }
    case type::module_pre_ga:
      fail(errc::not_decodable, at,
           fmt::format("a module value of a Redis 4.0 release candidate (type 6) at byte {} "
                       "cannot be read",
                       at));
    default:  // every blob type: one string
      skip_string(in);
      break;
  }
  return facts;
}

}  // namespace ferry::protocol::rdb::detail
