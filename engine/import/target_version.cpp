#include "engine/import/target_version.hpp"

#include <fmt/format.h>

#include "protocol/rdb/format.hpp"
#include "protocol/wire/info.hpp"

namespace ferry::engine {

std::optional<std::uint16_t> server_rdb_version(std::string_view info) {
  namespace version = protocol::rdb::version;
  const std::string_view valkey = protocol::info_text(info, "valkey_version");
  if (!valkey.empty() || protocol::info_text(info, "server_name") == "valkey") {
    const auto v = protocol::parse_server_version(
        valkey.empty() ? protocol::info_text(info, "redis_version") : valkey);
    if (v.major == 0) return std::nullopt;
    if (v.major < 9) return version::redis_7_2;  // Valkey 7.2-8.x write RDB 11
    if (v.major == 9 && v.minor == 0) return version::valkey_first;
    return std::nullopt;
  }
  const auto v = protocol::parse_server_version(protocol::info_text(info, "redis_version"));
  if (v.major == 0) return std::nullopt;
  if (v.major < 2 || (v.major == 2 && v.minor < 6)) return 4;
  if (v.major == 2 || (v.major == 3 && v.minor < 2)) return 6;
  if (v.major == 3) return 7;
  if (v.major == 4) return 8;
  if (v.major < 7) return version::redis_5;
  if (v.major == 7 && v.minor < 2) return version::redis_7_0;
  if (v.major == 7 && v.minor < 4) return version::redis_7_2;
  if (v.major == 7 || (v.major == 8 && v.minor == 0)) return version::redis_7_4;
  return std::nullopt;
}

std::string server_description(std::string_view info) {
  const std::string_view valkey = protocol::info_text(info, "valkey_version");
  if (!valkey.empty()) return fmt::format("Valkey {}", valkey);
  const std::string_view redis = protocol::info_text(info, "redis_version");
  if (redis.empty()) return "an unknown server";
  return fmt::format(
      "{} {}", protocol::info_text(info, "server_name") == "valkey" ? "Valkey" : "Redis", redis);
}

}  // namespace ferry::engine
