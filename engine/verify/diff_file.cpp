#include "engine/verify/diff_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace ferry::engine {

boost::system::result<std::unique_ptr<diff_file>, std::string> diff_file::open(
    const std::string& path) {
  std::ofstream out;
  if (!path.empty()) {
    out.open(path, std::ios::out | std::ios::trunc);
    if (!out) return fmt::format("cannot write the diff file '{}': {}", path, std::strerror(errno));
  }
  return std::unique_ptr<diff_file>(new diff_file(std::move(out)));
}

void diff_file::record(const verdict& v, std::optional<bool> repaired,
                       const std::string& repair_error) {
  const std::string text = out_.is_open() ? diff_line(v, repaired, repair_error) : std::string{};
  std::lock_guard lock(mutex_);
  ++recorded_;
  if (!out_.is_open()) return;
  out_ << text << '\n';
  out_.flush();
}

std::uint64_t diff_file::recorded() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

}  // namespace ferry::engine
