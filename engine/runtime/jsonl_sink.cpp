#include "engine/runtime/jsonl_sink.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::engine {

boost::system::result<std::unique_ptr<jsonl_sink>, std::string> jsonl_sink::open(
    const std::string& path, bool append, std::string what) {
  std::FILE* file = nullptr;
  if (!path.empty()) {
    file = std::fopen(path.c_str(), append ? "a" : "w");
    if (file == nullptr) {
      return fmt::format("cannot write the {} '{}': {}", what, path, std::strerror(errno));
    }
    // Unbuffered: a line either reaches the file in one write or its part is cut off again;
    // no half line waits in a buffer to be flushed behind a later one.
    std::setvbuf(file, nullptr, _IONBF, 0);
    std::fseek(file, 0, SEEK_END);
  }
  auto sink = std::unique_ptr<jsonl_sink>(new jsonl_sink(file, path, std::move(what)));
  if (file != nullptr) sink->size_ = std::ftell(file);
  return sink;
}

jsonl_sink::~jsonl_sink() {
  if (file_ != nullptr) std::fclose(file_);
}

bool jsonl_sink::write(std::string_view line) {
  std::function<void(const std::string&)> report;
  std::string why;
  {
    std::lock_guard lock(mutex_);
    ++lines_;
    if (file_ == nullptr) return path_.empty();
    errno = 0;
    std::string whole;
    whole.reserve(line.size() + 1);
    whole.append(line).push_back('\n');
    if (std::fwrite(whole.data(), 1, whole.size(), file_) == whole.size()) {
      ++written_;
      size_ += static_cast<long>(whole.size());
      return true;
    }
    const int cause = errno;
    std::clearerr(file_);
    // Cut off what reached the file of this line, so that a reader of the file meets only
    // whole lines.
    if (::ftruncate(::fileno(file_), size_) == 0) std::fseek(file_, size_, SEEK_SET);
    if (error_) return false;
    error_ = fmt::format("cannot write to the {} '{}': {} ({} of {} lines written)", what_, path_,
                         cause != 0 ? std::strerror(cause) : "write failed", written_, lines_);
    why = *error_;
    report = on_error_;
  }
  if (report) report(why);
  return false;
}

void jsonl_sink::on_error(std::function<void(const std::string&)> handler) {
  std::lock_guard lock(mutex_);
  on_error_ = std::move(handler);
}

std::uint64_t jsonl_sink::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::uint64_t jsonl_sink::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

std::optional<std::string> jsonl_sink::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace ferry::engine
