#pragma once
// How a reader asks the source for a batch of keys: GET first (strings) or DUMP first.
//
// DUMP costs the source about three times what GET costs for a small string (it tries LZF on
// every value over 20 bytes and computes a CRC64; measured in bench/RESULTS.md), so string keys
// are read with GET and written with SET ... PXAT. A key that is not a string answers GET with
// WRONGTYPE and is then read with DUMP: one more round trip and a cheap refused command. GET
// first pays off while strings are at least `get_first_share` of the keys read; below that,
// DUMP first is cheaper, and its payloads still say each key's type, so the share keeps being
// measured whichever path runs. Pure: unit-tested in tests/unit/read_path_test.cpp.

#include <cstddef>

namespace ferry::engine {

/// Which command reads a batch's values.
enum class read_path {
  dump_first,  ///< DUMP every key (the only path for a target that cannot SET ... PXAT)
  get_first,   ///< GET every key; the keys answering WRONGTYPE are read again with DUMP
};

/// Chooses the path of a shard's next batch from the share of strings among the keys it read.
class read_path_chooser {
 public:
  /// Below this share of strings GET first costs the source more than it saves. Measured in
  /// the lab (bench/RESULTS.md): GET saves the source about 1.2 us per string over DUMP, and a
  /// key of another type read GET first costs it about as much again (the refused GET, a second
  /// expiry command, a second round trip), so the break-even share is about one half; at 30 %
  /// the mixed profile cost the source 27 % more than DUMP first.
  static constexpr double get_first_share = 0.6;
  /// Weight of the newest batch in the running share.
  static constexpr double newest_weight = 0.25;

  /// `allowed` false: always DUMP first (--string-reads dump, or a target without SET PXAT).
  explicit read_path_chooser(bool allowed) noexcept : allowed_(allowed) {}

  /// The path for the next batch.
  read_path next() const noexcept {
    return allowed_ && share_ >= get_first_share ? read_path::get_first : read_path::dump_first;
  }

  /// A batch read: `strings` of its keys were strings, `others` of another type.
  void observe(std::size_t strings, std::size_t others) noexcept {
    const std::size_t seen = strings + others;
    if (seen == 0) return;
    const double share = static_cast<double>(strings) / static_cast<double>(seen);
    share_ = share_ * (1 - newest_weight) + share * newest_weight;
  }

  /// The source refuses GET (an ACL without it, or a renamed command): DUMP first from now on.
  void forbid() noexcept { allowed_ = false; }

  /// True while GET first may be chosen.
  bool allowed() const noexcept { return allowed_; }

  /// The running share of strings (starts at 1: a cache is mostly strings until it shows not).
  double share() const noexcept { return share_; }

 private:
  bool allowed_;
  double share_ = 1.0;
};

}  // namespace ferry::engine
