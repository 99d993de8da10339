#include "protocol/rdb/detail/primitives.hpp"

#include <fmt/format.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ferry::protocol::rdb::detail {
namespace {

constexpr unsigned enc_int8 = 0;
constexpr unsigned enc_int16 = 1;
constexpr unsigned enc_int32 = 2;
constexpr unsigned enc_lzf = 3;

template <class T>
T load_le(input& in) {
  unsigned char b[sizeof(T)];
  in.read(b, sizeof(T));
  T v = 0;
  for (std::size_t i = sizeof(T); i-- > 0;) v = static_cast<T>((v << 8) | b[i]);
  return v;
}

}  // namespace

length_field read_length_field(input& in) {
  const std::uint64_t at = in.offset();
  const std::uint8_t first = in.byte();
  switch (first >> 6) {
    case 0:
      return {first & 0x3fu, false};
    case 1:
      return {(static_cast<std::uint64_t>(first & 0x3f) << 8) | in.byte(), false};
    case 3:
      return {first & 0x3fu, true};
    default:
      break;
  }
  if (first == 0x80) {
    unsigned char b[4];
    in.read(b, 4);
    return {(std::uint64_t{b[0]} << 24) | (std::uint64_t{b[1]} << 16) | (std::uint64_t{b[2]} << 8) |
                b[3],
            false};
  }
  if (first == 0x81) {
    unsigned char b[8];
    in.read(b, 8);
    std::uint64_t v = 0;
    for (unsigned char c : b) v = (v << 8) | c;
    return {v, false};
  }
  fail(errc::bad_length, at, fmt::format("unknown length encoding 0x{:02x} at byte {}", first, at));
}

std::uint64_t read_length(input& in, const char* what) {
  const std::uint64_t at = in.offset();
  const length_field f = read_length_field(in);
  if (f.encoded) {
    fail(errc::bad_length, at,
         fmt::format("expected the length of {} at byte {}, found a string encoding marker", what,
                     at));
  }
  return f.value;
}

std::uint64_t read_count(input& in, const char* what, std::uint64_t limit) {
  const std::uint64_t at = in.offset();
  const std::uint64_t n = read_length(in, what);
  if (n > limit) {
    fail(errc::bad_length, at,
         fmt::format("{} of {} at byte {} is over the limit of {}", what, n, at, limit));
  }
  return n;
}

std::uint16_t read_u16(input& in) { return load_le<std::uint16_t>(in); }
std::uint32_t read_u32(input& in) { return load_le<std::uint32_t>(in); }
std::uint64_t read_u64(input& in) { return load_le<std::uint64_t>(in); }

std::uint64_t read_u64_be(input& in) {
  unsigned char b[8];
  in.read(b, 8);
  std::uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

double read_binary_double(input& in) { return std::bit_cast<double>(read_u64(in)); }

double read_text_double(input& in) {
  const std::uint64_t at = in.offset();
  const std::uint8_t len = in.byte();
  switch (len) {
    case 253:
      return std::numeric_limits<double>::quiet_NaN();
    case 254:
      return std::numeric_limits<double>::infinity();
    case 255:
      return -std::numeric_limits<double>::infinity();
    default:
      break;
  }
  char buf[256];
  in.read(buf, len);
  buf[len] = '\0';
  char* end = nullptr;
  const double v = std::strtod(buf, &end);
  if (len == 0 || end != buf + len) {
    fail(errc::bad_encoding, at, fmt::format("a zset score at byte {} is not a number", at));
  }
  return v;
}

void skip_text_double(input& in) {
  const std::uint8_t len = in.byte();
  if (len < 253) in.skip(len);
}

void skip_string(input& in) {
  const std::uint64_t at = in.offset();
  const length_field f = read_length_field(in);
  if (!f.encoded) {
    in.skip(f.value);
    return;
  }
  switch (f.value) {
    case enc_int8:
      in.skip(1);
      return;
    case enc_int16:
      in.skip(2);
      return;
    case enc_int32:
      in.skip(4);
      return;
    case enc_lzf: {
      const std::uint64_t clen = read_length(in, "an LZF string's compressed size");
      read_length(in, "an LZF string's size");
      in.skip(clen);
      return;
    }
    default:
      fail(errc::bad_encoding, at,
           fmt::format("unknown string encoding {} at byte {}", f.value, at));
  }
}

std::string read_string(input& in, std::size_t limit, const char* what) {
  const std::uint64_t at = in.offset();
  string_stream s(in);
  if (s.size() > limit) {
    fail(errc::too_large, at,
         fmt::format("{} at byte {} is {} bytes, over the limit of {}", what, at, s.size(), limit));
  }
  // Grow with the bytes actually read, so a corrupt length cannot allocate more than the input
  // holds (plus one chunk).
  std::string out;
  constexpr std::size_t chunk = 1 << 20;
  while (s.remaining() > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining(), chunk));
    const std::size_t at_size = out.size();
    out.resize(at_size + n);
    s.read_exact(out.data() + at_size, n);
  }
  return out;
}

string_stream::string_stream(input& in) : in_(in) {
  const std::uint64_t at = in.offset();
  const length_field f = read_length_field(in);
  if (!f.encoded) {
    size_ = remaining_ = f.value;
    return;
  }
  std::int64_t number = 0;
  switch (f.value) {
    case enc_int8:
      number = static_cast<std::int8_t>(in.byte());
      break;
    case enc_int16:
      number = static_cast<std::int16_t>(read_u16(in));
      break;
    case enc_int32:
      number = static_cast<std::int32_t>(read_u32(in));
      break;
    case enc_lzf: {
      const std::uint64_t clen = read_length(in, "an LZF string's compressed size");
      const std::uint64_t len = read_length(in, "an LZF string's size");
      if (len > clen * 88 + 32) {
        fail(errc::bad_encoding, at,
             fmt::format("an LZF string at byte {} claims {} bytes from {} compressed bytes", at,
                         len, clen));
      }
      size_ = remaining_ = len;
      lzf_ = std::make_unique<lzf_stream>(in, clen, len);
      return;
    }
    default:
      fail(errc::bad_encoding, at,
           fmt::format("unknown string encoding {} at byte {}", f.value, at));
  }
  text_ = fmt::format("{}", number);
  size_ = remaining_ = text_.size();
}

std::size_t string_stream::read_some(char* out, std::size_t size) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, remaining_));
  if (n == 0) return 0;
  if (lzf_) {
    const std::size_t got = lzf_->read(out, n);
    remaining_ -= got;
    return got;
  }
  if (!text_.empty()) {
    std::memcpy(out, text_.data() + (text_.size() - remaining_), n);
  } else {
    in_.read(out, n);
  }
  remaining_ -= n;
  return n;
}

void string_stream::read_exact(char* out, std::size_t size) {
  if (size > remaining_) {
    fail(errc::bad_encoding, in_.offset(),
         fmt::format("a structure at byte {} needs {} more bytes but its string has only {} left",
                     in_.offset(), size, remaining_));
  }
  std::size_t done = 0;
  while (done < size) {
    const std::size_t n = read_some(out + done, size - done);
    if (n == 0) {
      fail(errc::bad_encoding, in_.offset(), "an LZF string ended before its announced size");
    }
    done += n;
  }
}

void string_stream::skip(std::uint64_t size) {
  if (size > remaining_) {
    fail(errc::bad_encoding, in_.offset(),
         fmt::format("a structure at byte {} skips {} bytes but its string has only {} left",
                     in_.offset(), size, remaining_));
  }
  if (!lzf_ && text_.empty()) {
    in_.skip(size);
    remaining_ -= size;
    return;
  }
  char buf[4096];
  while (size > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, sizeof buf));
    read_exact(buf, n);
    size -= n;
  }
}

}  // namespace ferry::protocol::rdb::detail
