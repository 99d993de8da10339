#include "protocol/rdb/payload.hpp"

#include <fmt/format.h>

#include "protocol/rdb/crc64.hpp"
#include "protocol/rdb/format.hpp"

namespace ferry::protocol::rdb {
namespace {

std::uint64_t load_le64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void store_trailer(char* at, std::uint16_t version, std::uint64_t crc) {
  at[0] = static_cast<char>(version & 0xff);
  at[1] = static_cast<char>(version >> 8);
  for (int i = 0; i < 8; ++i) at[2 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
}

}  // namespace

result<payload_view> parse_payload(std::string_view payload) {
  if (payload.size() < payload_trailer_size + 1) {
    return error{errc::truncated, payload.size(),
                 fmt::format("a DUMP payload of {} bytes is too short: it needs a type byte, a "
                             "value and a 10-byte trailer",
                             payload.size())};
  }
  const std::size_t body_size = payload.size() - payload_trailer_size;
  payload_view v;
  v.body = payload.substr(0, body_size);
  v.type_id = static_cast<std::uint8_t>(payload[0]);
  v.value = payload.substr(1, body_size - 1);
  v.version = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[body_size]) |
                                         (static_cast<unsigned char>(payload[body_size + 1]) << 8));
  v.crc = load_le64(payload.data() + body_size + 2);
  const std::uint64_t actual = crc64(0, payload.data(), body_size + 2);
  if (actual != v.crc) {
    return error{errc::bad_checksum, body_size + 2,
                 fmt::format("the DUMP payload's CRC64 is {:016x} but its {} bytes give {:016x}: "
                             "the payload is damaged",
                             v.crc, body_size + 2, actual)};
  }
  return v;
}

void append_trailer(std::string& body, std::uint16_t version) {
  const std::size_t at = body.size();
  body.resize(at + payload_trailer_size);
  body[at] = static_cast<char>(version & 0xff);
  body[at + 1] = static_cast<char>(version >> 8);
  const std::uint64_t crc = crc64(0, body.data(), at + 2);
  store_trailer(body.data() + at, version, crc);
}

std::string make_payload(std::uint8_t type_id, std::string_view value, std::uint16_t version) {
  std::string out;
  out.reserve(1 + value.size() + payload_trailer_size);
  out.push_back(static_cast<char>(type_id));
  out.append(value);
  append_trailer(out, version);
  return out;
}

std::uint16_t exact_version_for(std::uint8_t type_id, std::uint16_t version,
                                std::uint16_t target_version) noexcept {
  for (std::uint32_t w = version; w >= version::oldest_downgrade_target; --w) {
    const auto v = static_cast<std::uint16_t>(w);
    if (accepts_version(target_version, v) && same_type_in(type_id, version, v)) return v;
  }
  return 0;
}

std::string_view servers_of_version(std::uint16_t version) noexcept {
  if (version >= version::valkey_first) return "Valkey 9+";
  switch (version) {
    case 12:
      return "Redis 7.4 / 8.0";
    case 11:
      return "Redis 7.2 / Valkey 7.2-8.1";
    case 10:
      return "Redis 7.0";
    case 9:
      return "Redis 5.0-6.2";
    case 8:
      return "Redis 4.0";
    case 7:
      return "Redis 3.2";
    case 6:
      return "Redis 2.6-3.0";
    default:
      return version > 12 ? "Redis 8.x (newer than ferry knows)" : "Redis before 2.6";
  }
}

result<downgrade_result> downgrade_payload(std::string& payload, std::uint16_t target_version) {
  auto parsed = parse_payload(payload);
  if (!parsed) return parsed.error();
  const payload_view v = *parsed;
  downgrade_result out;
  out.version = v.version;
  if (accepts_version(target_version, v.version)) {
    out.verdict = downgrade_verdict::unchanged;
    return out;
  }
  const auto info = describe_type(v.type_id, v.version);
  const std::string type_text = info ? fmt::format("{} (type id {})", info->name, v.type_id)
                                     : fmt::format("type id {}", v.type_id);
  if (target_version < version::oldest_downgrade_target) {
    out.verdict = downgrade_verdict::needs_struct;
    out.reason = fmt::format(
        "a target of RDB {} ({}) is older than any exact payload rewrite ferry makes (RDB {}+); "
        "the {} value must be copied with type commands",
        target_version, servers_of_version(target_version), version::oldest_downgrade_target,
        type_text);
    return out;
  }
  const std::uint16_t w = exact_version_for(v.type_id, v.version, target_version);
  if (w == 0) {
    out.verdict = downgrade_verdict::needs_struct;
    out.reason = fmt::format(
        "{} of an RDB {} payload ({}) is unknown to a target of RDB {} ({}); the value must be "
        "copied with type commands",
        type_text, v.version, servers_of_version(v.version), target_version,
        servers_of_version(target_version));
    return out;
  }
  const std::size_t body_size = payload.size() - payload_trailer_size;
  payload[body_size] = static_cast<char>(w & 0xff);
  payload[body_size + 1] = static_cast<char>(w >> 8);
  store_trailer(payload.data() + body_size, w, crc64(0, payload.data(), body_size + 2));
  out.verdict = downgrade_verdict::rewritten;
  out.version = w;
  return out;
}

}  // namespace ferry::protocol::rdb
