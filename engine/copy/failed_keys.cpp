#include "engine/copy/failed_keys.hpp"

#include <nlohmann/json.hpp>

#include "engine/runtime/key_text.hpp"

namespace ferry::engine {

boost::system::result<std::unique_ptr<failed_keys>, std::string> failed_keys::open(
    const std::string& path, bool append) {
  auto sink = jsonl_sink::open(path, append, "failed-keys file");
  if (!sink) return sink.error();
  return std::unique_ptr<failed_keys>(new failed_keys(std::move(*sink)));
}

bool failed_keys::record(std::string_view shard, std::string_view key, std::string_view kind,
                         std::string_view error) {
  if (sink_->path().empty()) return sink_->write({});
  const nlohmann::json line{{"key", printable_key(key)},
                            {"key_base64", base64(key)},
                            {"shard", shard},
                            {"kind", kind},
                            {"error", printable_key(error)}};
  return sink_->write(line.dump());
}

}  // namespace ferry::engine
