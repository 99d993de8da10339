#pragma once
// Walks one serialized value of a given type without decoding it: reads only length prefixes and
// the few fixed fields between them, skipping contents. With the input capturing, the bytes
// walked are exactly the value's serialization, i.e. the body of its DUMP payload.

#include <cstdint>
#include <optional>

#include "protocol/rdb/detail/input.hpp"

namespace ferry::protocol::rdb::detail {

/// What a walk learns on the way.
struct walk_facts {
  /// For module values: the module id (name and encoding version).
  std::optional<std::uint64_t> module_id;
};

/// Walks a value of `type_id` in RDB `version` at the input's position; throws `parse_error`
/// for unknown types and malformed lengths, `capture_overflow` from the input.
walk_facts walk_value(input& in, std::uint8_t type_id, std::uint16_t version);

/// Walks a module value's opcodes up to its EOF opcode (module values and MODULE_AUX records).
void walk_module_opcodes(input& in);

}  // namespace ferry::protocol::rdb::detail
