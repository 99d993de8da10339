#pragma once
// The suite's verdicts, from outside ferry: which keys differ between source and target (the
// oracle's dumps), which keys ferry listed (its --failed-keys and --diff files, read as JSON
// lines), and whether a failure message is one a person can act on.

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/support/keyspace.hpp"

namespace ferry::testing::faults {

/// How source and target differ, key by key.
struct key_differences {
  /// On the source, not on the target.
  std::set<std::string> missing;
  /// On the target, not on the source.
  std::set<std::string> extra;
  /// On both, with another type, value or expiry.
  std::set<std::string> different;

  /// No difference at all.
  bool none() const { return missing.empty() && extra.empty() && different.empty(); }
  /// Every key that differs.
  std::set<std::string> all() const;
  /// "3 missing, 0 extra, 1 different (e.g. str:17 missing)".
  std::string summary() const;
};

/// Compares two sorted dumps.
key_differences compare(const keyspace& source, const keyspace& target);

/// The keys named (by `key_base64`) in JSON-lines files such as --failed-keys and --diff;
/// missing files count as empty. A line that is not JSON is counted in `broken_lines`.
std::set<std::string> listed_keys(const std::vector<std::filesystem::path>& files,
                                  std::size_t& broken_lines);

/// Says what a failure message lacks, or "" when it names a place (one of `places`: a server's
/// host:port or an output file) and a next step (--resume, --repair, ...).
std::string unhelpful(const std::string& message, const std::vector<std::string>& places);

/// The last `lines` lines of `text`.
std::string tail(const std::string& text, std::size_t lines = 12);

}  // namespace ferry::testing::faults
