#pragma once
// The --diff file of `ferry verify`: one JSON line per difference found (see diff_line in
// verdict.hpp):
//
//   {"kind": "value", "key": "user:1", "key_base64": "dXNlcjox",
//    "source": "hash, 3 fields, no expiry", "target": "hash, 3 fields, no expiry",
//    "detail": "field \"name\" differs", "rounds": 1, "repaired": true}
//
// `kind` is missing, extra, type, value, expiry or changed; `key` is printable (see
// printable_key) and `key_base64` the exact bytes; `source` and `target` describe each side
// (never a value, never a secret); `repaired` appears only when a repair was attempted, with
// `repair_error` when it failed.
//
// Thread: record() and claim() are safe from any thread (a jsonl_sink; differences are the cold
// path).

#include <boost/system/result.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "engine/runtime/jsonl_sink.hpp"
#include "engine/verify/verdict.hpp"

namespace ferry::engine {

/// See the file comment.
class diff_file {
 public:
  /// Opens (truncates) `path`; an empty path writes nothing. The error names the file.
  static boost::system::result<std::unique_ptr<diff_file>, std::string> open(
      const std::string& path);

  /// Writes one line for `v` and flushes it. `repaired` is set when a repair was attempted;
  /// `repair_error` says why it failed. False when the line could not be written.
  bool record(const verdict& v, std::optional<bool> repaired = std::nullopt,
              const std::string& repair_error = {});
  /// True the first time it is called for `key` in this job, false after: each key is reported
  /// once even when both scans meet it (a key deleted from a live source between a comparison
  /// and the target's scan is not listed as different and then as extra). Holds the keys of
  /// differences only.
  bool claim(const protocol::bytes& key);
  /// Lines recorded so far (also counted without a file).
  std::uint64_t recorded() const { return sink_->lines(); }
  /// The first failure to write a line, if any.
  std::optional<std::string> write_error() const { return sink_->error(); }
  /// Called once at the first line that could not be written (see jsonl_sink::on_error).
  void on_error(std::function<void(const std::string&)> handler) {
    sink_->on_error(std::move(handler));
  }

 private:
  explicit diff_file(std::unique_ptr<jsonl_sink> sink) : sink_(std::move(sink)) {}
  std::unique_ptr<jsonl_sink> sink_;
  std::mutex claimed_mutex_;
  std::unordered_set<std::string> claimed_;
};

}  // namespace ferry::engine
