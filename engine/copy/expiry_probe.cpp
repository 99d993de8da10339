#include "engine/copy/expiry_probe.hpp"

#include <algorithm>

#include "protocol/wire/info.hpp"

namespace ferry::engine {

std::optional<std::uint64_t> expires_of(std::string_view keyspace, int db) {
  // INFO keyspace begins with its section header; a reply without it is not INFO keyspace.
  if (keyspace.find("# Keyspace") == std::string_view::npos) return std::nullopt;
  std::uint64_t expires = 0;  // a database INFO does not list holds no key
  for (const protocol::keyspace_entry& entry : protocol::parse_keyspace(keyspace)) {
    if (entry.db == db) expires = entry.expires;
  }
  return expires;
}

std::optional<expiry_sample> expiry_sample_of(std::string_view keyspace, std::string_view stats,
                                              int db) {
  const auto expires = expires_of(keyspace, db);
  const auto expired = protocol::info_unsigned(stats, "expired_keys");
  if (!expires || !expired) return std::nullopt;
  return expiry_sample{.expires = *expires, .expired_keys = *expired};
}

bool info_is_the_nodes_own(std::string_view server) {
  return protocol::info_field(server, "executable").has_value() &&
         protocol::info_unsigned(server, "process_id").has_value() &&
         !protocol::info_text(server, "redis_version").empty();
}

void expiry_probe::judge_server(std::optional<std::string_view> server) noexcept {
  if (state_ != state::unknown) return;
  state_ = server && info_is_the_nodes_own(*server) ? state::trusted : state::off;
}

void expiry_probe::probed(std::optional<std::uint64_t> expires) noexcept {
  if (state_ == state::off) return;
  if (wait_ > 0) --wait_;
  free_seen_ = expires && *expires == 0;
}

bool expiry_probe::proven(std::optional<expiry_sample> before,
                          std::optional<expiry_sample> after) noexcept {
  const bool proof = before && after && before->expires == 0 && after->expires == 0 &&
                     before->expired_keys == after->expired_keys;
  if (proof) {
    ++proofs_;
    return true;
  }
  ++failures_;
  free_seen_ = after && after->expires == 0;
  wait_ = next_wait_;
  next_wait_ = std::min(next_wait_ * 2, max_wait);
  return false;
}

}  // namespace ferry::engine
