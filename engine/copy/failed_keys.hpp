#pragma once
// The --failed-keys file: one JSON line per key that could not be copied.
//
// Thread: record() is safe from any thread (a mutex; this is the cold path).

#include <boost/system/result.hpp>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry::engine {

/// Appends failed keys as JSON lines: {"key": printable, "key_base64": exact bytes, "shard",
/// "error": the server's or ferry's message, "kind": the error class}.
class failed_keys {
 public:
  /// Opens `path`, truncated or (when a job resumes) appended to; an empty path records nothing.
  /// The error names the file.
  static boost::system::result<std::unique_ptr<failed_keys>, std::string> open(
      const std::string& path, bool append = false);

  /// Writes one line and flushes it, so a crash loses none.
  void record(std::string_view shard, std::string_view key, std::string_view kind,
              std::string_view error);
  /// Lines written so far.
  std::uint64_t recorded() const;

 private:
  explicit failed_keys(std::ofstream out) : out_(std::move(out)) {}
  mutable std::mutex mutex_;
  std::ofstream out_;
  std::uint64_t recorded_ = 0;
};

}  // namespace ferry::engine
