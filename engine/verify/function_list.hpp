#pragma once
// A side's Redis 7 function libraries, as FUNCTION LIST WITHCODE gives them, read from every
// master: what `ferry copy` brings over before the keys and `ferry verify` compares.
//
// Thread: the caller's (blocking, on a private io_context).

#include <string>
#include <vector>

#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "protocol/net/connection.hpp"
#include "protocol/wire/reply.hpp"
#include "protocol/wire/topology.hpp"

namespace ferry::engine {

/// One library.
struct function_library {
  /// library_name.
  std::string name;
  /// engine ("LUA").
  std::string engine;
  /// library_code (its "#!lua name=..." first line included).
  std::string code;
  /// Field-wise equality.
  friend bool operator==(const function_library&, const function_library&) = default;
};

/// The libraries of a FUNCTION LIST WITHCODE reply, sorted by name.
std::vector<function_library> libraries_of(const protocol::reply& list);

/// What one master holds.
struct master_functions {
  /// "host:port".
  std::string node;
  /// False for a server without functions (Redis before 7: FUNCTION is unknown).
  bool supported = true;
  /// Its libraries, sorted by name.
  std::vector<function_library> libraries;
};

/// Reads the libraries of every master of one side (`role` names it in messages). Fails when a
/// master cannot be reached or refuses FUNCTION LIST (NOPERM: the message names the rule).
maybe<std::vector<master_functions>> read_functions(const protocol::connection_options& seed,
                                                    const protocol::topology& map,
                                                    const tuning& tune, const char* role);

/// Names of the libraries that differ between `source` and `target` (missing on the target,
/// different code or engine, or only on the target), each with how, sorted.
std::vector<std::pair<std::string, std::string>> function_differences(
    const std::vector<function_library>& source, const std::vector<function_library>& target);

}  // namespace ferry::engine
