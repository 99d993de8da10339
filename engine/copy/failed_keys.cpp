#include "engine/copy/failed_keys.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/runtime/key_text.hpp"

namespace ferry::engine {

boost::system::result<std::unique_ptr<failed_keys>, std::string> failed_keys::open(
    const std::string& path, bool append) {
  std::ofstream out;
  if (!path.empty()) {
    out.open(path, std::ios::out | (append ? std::ios::app : std::ios::trunc));
    if (!out) {
      return fmt::format("cannot write the failed-keys file '{}': {}", path, std::strerror(errno));
    }
  }
  return std::unique_ptr<failed_keys>(new failed_keys(std::move(out)));
}

void failed_keys::record(std::string_view shard, std::string_view key, std::string_view kind,
                         std::string_view error) {
  std::lock_guard lock(mutex_);
  ++recorded_;
  if (!out_.is_open()) return;
  nlohmann::json line{{"key", printable_key(key)},
                      {"key_base64", base64(key)},
                      {"shard", shard},
                      {"kind", kind},
                      {"error", printable_key(error)}};
  out_ << line.dump() << '\n';
  out_.flush();
}

std::uint64_t failed_keys::recorded() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

}  // namespace ferry::engine
