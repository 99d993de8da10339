#pragma once
// The commands a writer sends for one record (RESTORE, or SET for a string read with GET), and
// what it hands the inline verifier of the records the target took. Pure: no I/O.

#include <array>
#include <span>

#include "engine/copy/batches.hpp"
#include "engine/verify/copied_keys.hpp"
#include "protocol/wire/command.hpp"

namespace ferry::engine {

/// The sampled keys among `written` (records the target acknowledged), as the inline verifier
/// takes them.
copied_batch sample_copied(std::span<const record* const> written, double fraction);

/// Appends `RESTORE key <abs-ms> <payload> ABSTTL [REPLACE]`, or for a string read with GET
/// `SET key <value> [PXAT <abs-ms>] [NX]` (NX where RESTORE would go without REPLACE); the
/// payload is referred to, not copied. `trailer`, when given, replaces the payload's own last 10
/// bytes (a payload downgraded for an older target, engine/transfer/payload_fit.hpp).
void append_restore(protocol::command_buffer& commands, const record& r, bool replace,
                    const std::array<char, 10>* trailer = nullptr);

}  // namespace ferry::engine
