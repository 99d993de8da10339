#include "engine/cluster/expiry_probe.hpp"

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

std::optional<std::string_view> info_reply_text(const protocol::reply& reply) {
  if (reply.kind != protocol::reply_kind::string) return std::nullopt;
  return reply.text();
}

std::optional<expiry_sample> expiry_sample_in(const protocol::reply& keyspace,
                                              const protocol::reply& stats, int db) {
  const auto keyspace_text = info_reply_text(keyspace);
  const auto stats_text = info_reply_text(stats);
  if (!keyspace_text || !stats_text) return std::nullopt;
  return expiry_sample_of(*keyspace_text, *stats_text, db);
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

probed_read::probed_read(expiry_probe& probe, std::size_t keys, bool allowed)
    : probe_(probe),
      bracketed_(allowed && keys >= min_bracketed_keys && probe.bracket_next()),
      probing_(allowed && keys >= min_bracketed_keys && probe.wants_probe()),
      server_info_(probing_ && probe.wants_server_info()) {
  if (bracketed_) {
    bracket_.before = {{"INFO", "keyspace"}, {"INFO", "stats"}};
    bracket_.after = bracket_.before;
  } else if (probing_) {
    bracket_.after = {{"INFO", "keyspace"}};
    if (server_info_) bracket_.after.push_back({"INFO", "server"});
  }
}

std::vector<std::uint32_t> probed_read::settle(int db) {
  std::vector<std::uint32_t> unproven;
  if (probing_) {
    // Every node of a side is taken to be of one kind: the first INFO server judges them all.
    bool looked = false;
    std::optional<std::uint64_t> expires = 0;
    for (const bracket_answer& answer : answers) {
      if (answer.after.empty()) continue;  // keys sent with ASKING
      if (server_info_ && !looked) probe_.judge_server(info_reply_text(answer.after[1]));
      looked = true;
      const auto text = info_reply_text(answer.after[0]);
      const auto seen = text ? expires_of(*text, db) : std::nullopt;
      expires = seen && expires ? std::optional(std::max(*expires, *seen)) : std::nullopt;
    }
    if (looked) probe_.probed(expires);
  }
  if (bracketed_) {
    for (const bracket_answer& answer : answers) {
      const bool proven =
          !answer.before.empty() &&
          probe_.proven(expiry_sample_in(answer.before[0], answer.before[1], db),
                        expiry_sample_in(answer.after[0], answer.after[1], db));
      if (!proven) unproven.insert(unproven.end(), answer.keys.begin(), answer.keys.end());
    }
  }
  return unproven;
}

}  // namespace ferry::engine
