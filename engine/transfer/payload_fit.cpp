#include "engine/transfer/payload_fit.hpp"

#include <fmt/format.h>

#include "protocol/rdb/crc64.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"

namespace ferry::engine {

namespace rdb = protocol::rdb;

namespace {

std::uint64_t load_le64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

payload_fit fit_payload(std::string_view payload, std::uint16_t target_rdb) {
  payload_fit fit;
  constexpr std::size_t trailer = rdb::payload_trailer_size;
  if (payload.size() < trailer + 1) return fit;
  const std::size_t body = payload.size() - trailer;
  fit.type_id = static_cast<std::uint8_t>(payload[0]);
  fit.from = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[body]) |
                                        (static_cast<unsigned char>(payload[body + 1]) << 8));
  fit.to = fit.from;
  if (target_rdb == 0 || rdb::accepts_version(target_rdb, fit.from)) return fit;
  const std::uint16_t to = target_rdb < rdb::version::oldest_downgrade_target
                               ? 0
                               : rdb::exact_version_for(fit.type_id, fit.from, target_rdb);
  if (to == 0) {
    const auto info = rdb::describe_type(fit.type_id, fit.from);
    const std::string type = info ? fmt::format("{} (type id {})", info->name, fit.type_id)
                                  : fmt::format("type id {}", fit.type_id);
    fit.way = payload_way::rebuild;
    fit.reason = fmt::format(
        "the {} of an RDB {} payload ({}) has no exact form for a target of RDB {} ({})", type,
        fit.from, rdb::servers_of_version(fit.from), target_rdb,
        rdb::servers_of_version(target_rdb));
    return fit;
  }
  // One pass over the body: its CRC checks the payload's own trailer and starts the new one.
  const std::uint64_t body_crc = rdb::crc64(0, payload.data(), body);
  if (rdb::crc64(body_crc, payload.data() + body, 2) != load_le64(payload.data() + body + 2)) {
    return fit;  // damaged: the target says so in its own words
  }
  fit.trailer[0] = static_cast<char>(to & 0xff);
  fit.trailer[1] = static_cast<char>(to >> 8);
  const std::uint64_t crc = rdb::crc64(body_crc, fit.trailer.data(), 2);
  for (int i = 0; i < 8; ++i) fit.trailer[2 + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  fit.way = payload_way::downgraded;
  fit.to = to;
  return fit;
}

void apply_fit(std::string& payload, const payload_fit& fit) {
  if (fit.way != payload_way::downgraded || payload.size() < fit.trailer.size()) return;
  payload.replace(payload.size() - fit.trailer.size(), fit.trailer.size(), fit.trailer.data(),
                  fit.trailer.size());
}

}  // namespace ferry::engine
