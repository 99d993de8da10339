#include "protocol/rdb/writer.hpp"

#include <fmt/format.h>

#include <ctime>
#include <exception>

#include "protocol/rdb/crc64.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/lzf.hpp"
#include "protocol/rdb/payload.hpp"

namespace ferry::protocol::rdb {

file_writer::file_writer(byte_sink& sink, writer_options options)
    : sink_(sink), options_(std::move(options)) {
  const std::uint16_t v = options_.version;
  if (v < version::oldest || (v > version::newest_redis && v < version::valkey_first) ||
      v > version::newest_valkey) {
    failed_ = error{errc::unsupported_version, 0,
                    fmt::format("ferry writes RDB versions 1-{} and {}, not {}",
                                version::newest_redis, version::valkey_first, v)};
    return;
  }
  const std::string magic =
      v >= version::valkey_first ? fmt::format("VALKEY{:03}", v) : fmt::format("REDIS{:04}", v);
  if (!write(magic)) return;
  if (options_.standard_aux && v >= 7) {
    const std::int64_t ctime = options_.ctime != 0 ? options_.ctime : std::time(nullptr);
    (void)(aux("redis-ver", options_.redis_version) && aux("redis-bits", "64") &&
           aux("ctime", fmt::format("{}", ctime)) && aux("used-mem", "0") && aux("aof-base", "0"));
  }
}

result<void> file_writer::state_error() const {
  if (failed_) return *failed_;
  if (finished_) return error{errc::io_failed, written_, "the RDB file was already finished"};
  return {};
}

result<void> file_writer::write(std::string_view bytes) {
  if (failed_) return *failed_;
  try {
    sink_.write(bytes.data(), bytes.size());
  } catch (const std::exception& e) {
    failed_ =
        error{errc::io_failed, written_,
              fmt::format("writing the RDB file failed after {} bytes: {}", written_, e.what())};
    return *failed_;
  }
  crc_ = crc64(crc_, bytes);
  written_ += bytes.size();
  return {};
}

void file_writer::put_length(std::string& out, std::uint64_t n) {
  if (n < (1u << 6)) {
    out.push_back(static_cast<char>(n));
  } else if (n < (1u << 14)) {
    out.push_back(static_cast<char>(0x40 | (n >> 8)));
    out.push_back(static_cast<char>(n & 0xff));
  } else if (n <= 0xffffffffULL) {
    out.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  } else {
    out.push_back(static_cast<char>(0x81));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

void file_writer::put_string(std::string& out, std::string_view s) {
  put_length(out, s.size());
  out.append(s);
}

result<void> file_writer::aux(std::string_view name, std::string_view value) {
  if (auto e = state_error(); !e) return e;
  std::string rec(1, static_cast<char>(opcode::aux));
  put_string(rec, name);
  put_string(rec, value);
  return write(rec);
}

result<void> file_writer::function(std::string_view code) {
  if (auto e = state_error(); !e) return e;
  if (options_.version < version::redis_7_0) {
    return error{errc::version_refused, written_,
                 fmt::format("an RDB {} file cannot hold function libraries (RDB 10+, Redis 7.0)",
                             options_.version)};
  }
  std::string rec(1, static_cast<char>(opcode::function2));
  put_string(rec, code);
  return write(rec);
}

result<void> file_writer::function_dump(std::string_view payload) {
  auto parsed = parse_payload(payload);
  if (!parsed) return parsed.error();
  if (!accepts_version(options_.version, parsed->version)) {
    return error{errc::version_refused, 0,
                 fmt::format("a FUNCTION DUMP payload of RDB {} cannot go into an RDB {} file",
                             parsed->version, options_.version)};
  }
  // The body is a sequence of FUNCTION2 records: exactly what the file holds.
  std::string_view body = parsed->body;
  std::size_t pos = 0;
  while (pos < body.size()) {
    if (static_cast<std::uint8_t>(body[pos]) != opcode::function2) {
      return error{
          errc::bad_encoding, pos,
          fmt::format("byte {} of the FUNCTION DUMP payload is not a library record", pos)};
    }
    // The library's code is an RDB string, which Redis writes LZF-compressed when that is
    // shorter (rdbcompression yes, the default): 0xC3, compressed and plain lengths, the bytes.
    std::size_t p = pos + 1;
    const auto length_at = [&](std::size_t at, std::uint64_t& len, std::size_t& head) -> bool {
      if (at >= body.size()) return false;
      const auto first = static_cast<std::uint8_t>(body[at]);
      head = 1;
      len = 0;
      switch (first >> 6) {
        case 0:
          len = first & 0x3f;
          return true;
        case 1:
          if (at + 1 >= body.size()) return false;
          len = (static_cast<std::uint64_t>(first & 0x3f) << 8) |
                static_cast<unsigned char>(body[at + 1]);
          head = 2;
          return true;
        case 2: {
          const int bytes = first == 0x80 ? 4 : first == 0x81 ? 8 : 0;
          if (bytes == 0 || at + bytes >= body.size()) return false;
          for (int i = 1; i <= bytes; ++i) {
            len = (len << 8) | static_cast<unsigned char>(body[at + i]);
          }
          head = 1 + static_cast<std::size_t>(bytes);
          return true;
        }
        default:
          return false;
      }
    };
    if (p >= body.size()) {
      return error{errc::truncated, p, "a library in the FUNCTION DUMP payload passes its end"};
    }
    const auto first = static_cast<std::uint8_t>(body[p]);
    if (first == 0xC3) {
      std::uint64_t clen = 0, ulen = 0;
      std::size_t h1 = 0, h2 = 0;
      if (!length_at(p + 1, clen, h1) || !length_at(p + 1 + h1, ulen, h2) ||
          p + 1 + h1 + h2 + clen > body.size()) {
        return error{errc::truncated, p, "a library in the FUNCTION DUMP payload passes its end"};
      }
      auto code = lzf_decompress(body.substr(p + 1 + h1 + h2, static_cast<std::size_t>(clen)),
                                 static_cast<std::size_t>(ulen));
      if (!code) return code.error();
      if (auto e = function(*code); !e) return e;
      pos = p + 1 + h1 + h2 + static_cast<std::size_t>(clen);
      continue;
    }
    std::uint64_t len = 0;
    std::size_t head = 0;
    if ((first >> 6) == 3 || !length_at(p, len, head)) {
      return error{errc::bad_encoding, p,
                   "a library in the FUNCTION DUMP payload has an encoding that is not a string"};
    }
    if (p + head + len > body.size()) {
      return error{errc::truncated, p, "a library in the FUNCTION DUMP payload passes its end"};
    }
    if (auto e = function(body.substr(p + head, static_cast<std::size_t>(len))); !e) return e;
    pos = p + head + static_cast<std::size_t>(len);
  }
  return {};
}

result<void> file_writer::begin_db(std::uint64_t db, std::uint64_t keys_hint,
                                   std::uint64_t expires_hint) {
  if (auto e = state_error(); !e) return e;
  std::string rec(1, static_cast<char>(opcode::selectdb));
  put_length(rec, db);
  if (options_.version >= 7) {
    rec.push_back(static_cast<char>(opcode::resizedb));
    put_length(rec, keys_hint);
    put_length(rec, expires_hint);
  }
  in_db_ = true;
  return write(rec);
}

result<void> file_writer::key(std::string_view key, std::string_view payload,
                              std::int64_t expire_ms) {
  if (auto e = state_error(); !e) return e;
  auto parsed = parse_payload(payload);
  if (!parsed) {
    error err = parsed.error();
    err.message += fmt::format(" (the payload of key #{})", keys_ + 1);
    return err;
  }
  if (!accepts_version(options_.version, parsed->version)) {
    const std::uint16_t w = exact_version_for(parsed->type_id, parsed->version, options_.version);
    if (w == 0) {
      return error{
          errc::version_refused, written_,
          fmt::format("a value of type id {} from an RDB {} payload ({}) cannot go into "
                      "an RDB {} file ({}): choose a newer --rdb-version",
                      parsed->type_id, parsed->version, servers_of_version(parsed->version),
                      options_.version, servers_of_version(options_.version))};
    }
  }
  if (!in_db_) {
    if (auto e = begin_db(0); !e) return e;
  }
  std::string head;
  head.reserve(key.size() + 16);
  if (expire_ms > 0 && options_.version < 3) {
    // RDB 1-2 know only whole seconds: round up (the key may live under a second longer, never
    // shorter).
    const std::uint64_t s = static_cast<std::uint64_t>((expire_ms + 999) / 1000);
    head.push_back(static_cast<char>(opcode::expiretime));
    for (int i = 0; i < 4; ++i) head.push_back(static_cast<char>((s >> (8 * i)) & 0xff));
  } else if (expire_ms > 0) {
    head.push_back(static_cast<char>(opcode::expiretime_ms));
    for (int i = 0; i < 8; ++i) {
      head.push_back(static_cast<char>((static_cast<std::uint64_t>(expire_ms) >> (8 * i)) & 0xff));
    }
  }
  head.push_back(static_cast<char>(parsed->type_id));
  put_string(head, key);
  if (auto e = write(head); !e) return e;
  if (auto e = write(parsed->value); !e) return e;
  ++keys_;
  return {};
}

result<void> file_writer::finish() {
  if (auto e = state_error(); !e) return e;
  const char eof = static_cast<char>(opcode::eof);
  if (auto e = write(std::string_view(&eof, 1)); !e) return e;
  if (options_.version >= version::with_checksum) {
    char crc[8];
    for (int i = 0; i < 8; ++i) crc[i] = static_cast<char>((crc_ >> (8 * i)) & 0xff);
    if (failed_) return *failed_;
    try {
      sink_.write(crc, 8);
    } catch (const std::exception& e) {
      failed_ = error{errc::io_failed, written_,
                      fmt::format("writing the RDB file's checksum failed: {}", e.what())};
      return *failed_;
    }
    written_ += 8;
  }
  finished_ = true;
  return {};
}

}  // namespace ferry::protocol::rdb
