#pragma once
// The wall clock in Unix milliseconds: the time reports, state files and the sync's gap
// records carry, and the base against which absolute expiries (PEXPIRETIME, PXAT) are judged.

#include <chrono>
#include <cstdint>

namespace ferry::engine {

/// Now, in milliseconds since the Unix epoch (system clock).
inline std::int64_t unix_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ferry::engine
