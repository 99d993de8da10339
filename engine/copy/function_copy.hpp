#pragma once
// Redis 7 function libraries are part of a dataset but not keys: a copy brings them over before
// its first key, so that scripts calling FCALL work on the target as soon as the keys are there.
//
// The source's libraries are read with FUNCTION LIST WITHCODE and FUNCTION DUMP (from its first
// master: every master of a cluster holds the same libraries) and restored on every target
// master with FUNCTION RESTORE under the job's policy. A target that cannot read the dump's
// payload (an older RDB version) gets each library's code with FUNCTION LOAD instead, which
// every Redis 7 and Valkey reads. A master that already holds exactly the source's libraries
// (a resumed job) is left alone. Sources before Redis 7 have no functions: nothing to do.
//
// Thread: the job's calling thread (blocking, on a private io_context).

#include <cstdint>
#include <string>
#include <vector>

#include "engine/cluster/sides.hpp"
#include "engine/copy/copy_config.hpp"
#include "engine/runtime/result.hpp"
#include "engine/runtime/settings.hpp"
#include "engine/verify/function_list.hpp"

namespace ferry::engine {

/// What a function copy did.
struct function_copy_result {
  /// Libraries the source holds.
  std::size_t libraries = 0;
  /// Target masters that received them (0 when every master already held them).
  std::size_t masters_written = 0;
  /// Things to say (a target without functions, a fallback to FUNCTION LOAD).
  std::vector<std::string> warnings;
};

/// Copies the source's libraries to every target master under `policy`. Fails (before any key
/// is copied) when the target refuses them: a library of the same name under `append`, a
/// refused command.
maybe<function_copy_result> copy_functions(const inspected_sides& sides, function_policy policy,
                                           const tuning& tune);

}  // namespace ferry::engine
