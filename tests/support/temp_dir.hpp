#pragma once
// A private scratch directory for one test fixture, removed with everything in it on destruction.

#include <filesystem>
#include <string_view>

namespace ferry::testing {

/// A fresh directory `$TMPDIR/ferry-test-XXXXXX` (or under /tmp) owned by this object.
/// Set FERRY_KEEP_TEST_DIRS=1 to keep the directories (server logs, certificates) for a
/// post-mortem.
class temp_dir {
 public:
  /// Creates the directory; `label` is appended to the name to make leftovers recognisable.
  explicit temp_dir(std::string_view label = {});
  /// Removes the directory tree unless FERRY_KEEP_TEST_DIRS is set (errors are ignored:
  /// teardown must not throw).
  ~temp_dir();
  /// Movable so fixtures can hold it by value; the moved-from object owns nothing.
  temp_dir(temp_dir&& other) noexcept;
  /// Move assignment removes the directory this object owned before.
  temp_dir& operator=(temp_dir&& other) noexcept;
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The directory's absolute path.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// `path() / name`.
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  void remove() noexcept;

  std::filesystem::path path_;
};

}  // namespace ferry::testing
