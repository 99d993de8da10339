#pragma once
// Which keys `ferry copy --verify-sample F` compares: a fraction chosen by a hash of the key
// itself, not by chance, so that a re-run (or a resumed job) checks the same keys and a
// difference found once can be found again. No I/O; unit-tested.

#include <cstdint>
#include <string_view>

namespace ferry::engine {

/// A 64-bit hash of `key` that is the same on every platform and in every run (FNV-1a, then
/// the SplitMix64 finalizer so that keys differing in one trailing byte spread over the range).
constexpr std::uint64_t sample_hash(std::string_view key) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

/// True when `key` belongs to the sampled `fraction` (0 < fraction <= 1; 1 takes every key).
constexpr bool in_sample(std::string_view key, double fraction) noexcept {
  if (fraction >= 1) return true;
  if (fraction <= 0) return false;
  // The top 53 bits as a number in [0, 1): exact in a double.
  const double position = static_cast<double>(sample_hash(key) >> 11) * 0x1.0p-53;
  return position < fraction;
}

}  // namespace ferry::engine
