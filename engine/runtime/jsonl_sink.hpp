#pragma once
// A JSON-lines output file (--failed-keys, --diff): one line per record, flushed at once so a
// crash loses none, and every write checked: a line that could not be written (a full disk, a
// file-size limit) is remembered, so the job can say so instead of claiming what it did not
// record.
//
// Thread: every method is safe from any thread (a mutex; records are the cold path).

#include <boost/system/result.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::engine {

/// See the file comment.
class jsonl_sink {
 public:
  /// Opens `path` (truncated, or appended to when `append`), for the file people know as `what`
  /// ("failed-keys file"); an empty path records nothing but still counts. The error names the
  /// file and the reason.
  static boost::system::result<std::unique_ptr<jsonl_sink>, std::string> open(
      const std::string& path, bool append, std::string what);
  ~jsonl_sink();
  jsonl_sink(const jsonl_sink&) = delete;
  jsonl_sink& operator=(const jsonl_sink&) = delete;

  /// Writes `line` and a newline, flushed to the file. False (and error() set, once) when the
  /// line could not be written whole; the part of it that reached the file is cut off again, so
  /// the file holds only whole lines. Later lines are still tried.
  bool write(std::string_view line);

  /// Called once, with error()'s sentence, at the first line that could not be written: a job
  /// that cannot record what it must stops rather than claim it recorded it.
  void on_error(std::function<void(const std::string&)> handler);

  /// Lines handed to write() (written or not; also counted without a file).
  std::uint64_t lines() const;
  /// Lines that reached the file.
  std::uint64_t written() const;
  /// The first write failure, naming the file and the reason; nothing while all went well.
  std::optional<std::string> error() const;
  /// The file's path ("" for none).
  const std::string& path() const noexcept { return path_; }

 private:
  jsonl_sink(std::FILE* file, std::string path, std::string what)
      : file_(file), path_(std::move(path)), what_(std::move(what)) {}

  mutable std::mutex mutex_;
  std::FILE* file_ = nullptr;
  std::string path_;
  std::string what_;
  std::uint64_t lines_ = 0;
  std::uint64_t written_ = 0;
  long size_ = 0;  // the file's length after the last whole line
  std::optional<std::string> error_;
  std::function<void(const std::string&)> on_error_;
};

}  // namespace ferry::engine
