#include "protocol/rdb/error.hpp"

namespace ferry::protocol::rdb {

std::string_view errc_name(errc e) noexcept {
  switch (e) {
    case errc::truncated:
      return "truncated";
    case errc::bad_magic:
      return "bad_magic";
    case errc::unsupported_version:
      return "unsupported_version";
    case errc::bad_checksum:
      return "bad_checksum";
    case errc::unknown_type:
      return "unknown_type";
    case errc::unknown_opcode:
      return "unknown_opcode";
    case errc::bad_length:
      return "bad_length";
    case errc::bad_encoding:
      return "bad_encoding";
    case errc::too_large:
      return "too_large";
    case errc::not_decodable:
      return "not_decodable";
    case errc::version_refused:
      return "version_refused";
    case errc::io_failed:
      return "io_failed";
  }
  return "unknown";
}

namespace detail {

void fail(errc code, std::uint64_t offset, std::string message) {
  throw parse_error(code, offset, std::move(message));
}

}  // namespace detail
}  // namespace ferry::protocol::rdb
