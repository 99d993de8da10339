#pragma once
// The --failed-keys file: one JSON line per key that could not be copied, on a jsonl_sink.
//
// Thread: record() is safe from any thread.

#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/runtime/jsonl_sink.hpp"

namespace ferry::engine {

/// Appends failed keys as JSON lines: {"key": printable, "key_base64": exact bytes, "shard",
/// "error": the server's or ferry's message, "kind": the error class}.
class failed_keys {
 public:
  /// Opens `path`, truncated or (when a job resumes) appended to; an empty path records nothing.
  /// The error names the file.
  static boost::system::result<std::unique_ptr<failed_keys>, std::string> open(
      const std::string& path, bool append = false);

  /// Writes one line and flushes it, so a crash loses none. False when the line could not be
  /// written (see write_error()).
  bool record(std::string_view shard, std::string_view key, std::string_view kind,
              std::string_view error);
  /// Keys recorded so far (written to the file or not).
  std::uint64_t recorded() const { return sink_->lines(); }
  /// The first failure to write a line, if any.
  std::optional<std::string> write_error() const { return sink_->error(); }
  /// Called once at the first line that could not be written (see jsonl_sink::on_error).
  void on_error(std::function<void(const std::string&)> handler) {
    sink_->on_error(std::move(handler));
  }

 private:
  explicit failed_keys(std::unique_ptr<jsonl_sink> sink) : sink_(std::move(sink)) {}
  std::unique_ptr<jsonl_sink> sink_;
};

}  // namespace ferry::engine
