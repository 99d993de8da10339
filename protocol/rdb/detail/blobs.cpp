#include "protocol/rdb/detail/blobs.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ferry::protocol::rdb::detail {
namespace {

std::uint64_t le(const unsigned char* b, unsigned n) {
  std::uint64_t v = 0;
  for (unsigned i = n; i-- > 0;) v = (v << 8) | b[i];
  return v;
}

// Two's complement of an n-bit unsigned value.
std::int64_t signed_of(std::uint64_t v, unsigned bits) {
  if (bits == 64) return static_cast<std::int64_t>(v);
  const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
  return v >= sign ? static_cast<std::int64_t>(v) - static_cast<std::int64_t>(sign << 1)
                   : static_cast<std::int64_t>(v);
}

// How many bytes listpack's back-length of an entry of `size` bytes takes (lpEncodeBacklen).
unsigned backlen_bytes(std::uint64_t size) {
  if (size <= 127) return 1;
  if (size < 16383) return 2;
  if (size < 2097151) return 3;
  if (size < 268435455) return 4;
  return 5;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// element_reader

bool element_reader::next() {
  if (active_) {
    if (left_ > 0) {
      if (is_int_) {
        left_ = 0;
      } else {
        s_.skip(left_);
        left_ = 0;
      }
    }
    after_element();
    active_ = false;
  }
  if (!advance()) return false;
  active_ = true;
  ++seen_;
  return true;
}

void element_reader::set_int(std::int64_t v) {
  is_int_ = true;
  number_ = v;
  text_ = fmt::format("{}", v);
  length_ = left_ = text_.size();
}

void element_reader::set_string(std::uint64_t length) {
  is_int_ = false;
  length_ = left_ = length;
  if (length > s_.remaining()) {
    corrupt(fmt::format("an element of {} bytes passes the end of its blob ({} bytes left)", length,
                        s_.remaining()));
  }
}

std::size_t element_reader::read_some(char* out, std::size_t size) {
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, left_));
  if (n == 0) return 0;
  if (is_int_) {
    std::copy_n(text_.data() + (text_.size() - left_), n, out);
  } else {
    s_.read_exact(out, n);
  }
  left_ -= n;
  return n;
}

void element_reader::read_all(std::string& out, std::size_t limit) {
  if (left_ > limit) {
    fail(errc::too_large, s_.offset(),
         fmt::format("an element of {} bytes at byte {} is over the limit of {}", left_,
                     s_.offset(), limit));
  }
  out.clear();
  while (left_ > 0) {  // grows with what is read: a corrupt length cannot allocate ahead
    const std::size_t at_size = out.size();
    out.resize(at_size + static_cast<std::size_t>(std::min<std::uint64_t>(left_, 1 << 20)));
    read_some(out.data() + at_size, out.size() - at_size);
  }
}

void element_reader::corrupt(const std::string& what) const {
  fail(errc::bad_encoding, s_.offset(),
       fmt::format("corrupt blob near byte {}: {}", s_.offset(), what));
}

// ---------------------------------------------------------------------------------------------
// listpack: <total u32><count u16> entries... 0xFF; entry = encoding, data, back-length.

listpack_reader::listpack_reader(string_stream& s) : element_reader(s) {
  unsigned char h[6];
  if (s.size() < 7) corrupt(fmt::format("a listpack of {} bytes is too short", s.size()));
  s.read_exact(reinterpret_cast<char*>(h), 6);
  total_ = le(h, 4);
  const std::uint64_t count = le(h + 4, 2);
  declared_count_ = count == 65535 ? -1 : static_cast<std::int64_t>(count);
  if (total_ != s.size()) {
    corrupt(fmt::format("listpack header says {} bytes, its string has {}", total_, s.size()));
  }
}

bool listpack_reader::advance() {
  const unsigned b = s_.byte();
  ++consumed_;
  if (b == 0xff) {
    if (consumed_ != total_ || s_.remaining() != 0) corrupt("listpack terminator before its end");
    if (declared_count_ >= 0 && static_cast<std::uint64_t>(declared_count_) != seen_) {
      corrupt(fmt::format("listpack header says {} entries, found {}", declared_count_, seen_));
    }
    return false;
  }
  unsigned char x[8];
  auto more = [&](unsigned n) {
    s_.read_exact(reinterpret_cast<char*>(x), n);
    consumed_ += n;
  };
  std::uint64_t header = 1;
  if ((b & 0x80) == 0) {
    set_int(b);
  } else if ((b & 0xc0) == 0x80) {
    set_string(b & 0x3f);
  } else if ((b & 0xe0) == 0xc0) {
    more(1);
    header = 2;
    set_int(signed_of((static_cast<std::uint64_t>(b & 0x1f) << 8) | x[0], 13));
  } else if ((b & 0xf0) == 0xe0) {
    more(1);
    header = 2;
    set_string((static_cast<std::uint64_t>(b & 0x0f) << 8) | x[0]);
  } else if (b == 0xf0) {
    more(4);
    header = 5;
    set_string(le(x, 4));
  } else if (b >= 0xf1 && b <= 0xf4) {
    static constexpr unsigned widths[] = {2, 3, 4, 8};
    const unsigned w = widths[b - 0xf1];
    more(w);
    header = 1 + w;
    set_int(signed_of(le(x, w), w * 8));
    entry_size_ = header;
    return true;
  } else {
    corrupt(fmt::format("unknown listpack encoding byte 0x{:02x}", b));
  }
  entry_size_ = header + (is_int() ? 0 : length());
  return true;
}

void listpack_reader::after_element() {
  if (!is_int()) consumed_ += length();
  const unsigned n = backlen_bytes(entry_size_);
  unsigned char got[5];
  s_.read_exact(reinterpret_cast<char*>(got), n);
  consumed_ += n;
  // lpEncodeBacklen: the most significant 7-bit group first, every byte but the first has 0x80.
  for (unsigned i = 0; i < n; ++i) {
    const unsigned shift = 7 * (n - 1 - i);
    const unsigned expect =
        static_cast<unsigned>((entry_size_ >> shift) & 127) | (i == 0 ? 0u : 128u);
    if (got[i] != expect) corrupt("a listpack back-length does not match its entry");
  }
  if (consumed_ >= total_) corrupt("listpack entries pass the listpack's size");
}

// ---------------------------------------------------------------------------------------------
// ziplist: <zlbytes u32><zltail u32><zllen u16> entries... 0xFF;
// entry = prevlen (1 or 0xFE + 4 bytes), encoding (+ length or integer), data.

ziplist_reader::ziplist_reader(string_stream& s) : element_reader(s) {
  unsigned char h[10];
  if (s.size() < 11) corrupt(fmt::format("a ziplist of {} bytes is too short", s.size()));
  s.read_exact(reinterpret_cast<char*>(h), 10);
  total_ = le(h, 4);
  const std::uint64_t count = le(h + 8, 2);
  declared_count_ = count == 65535 ? -1 : static_cast<std::int64_t>(count);
  if (total_ != s.size()) {
    corrupt(fmt::format("ziplist header says {} bytes, its string has {}", total_, s.size()));
  }
}

bool ziplist_reader::advance() {
  if (seen_ > 0 && !is_int()) consumed_ += length();
  unsigned char x[8];
  unsigned b = s_.byte();
  ++consumed_;
  if (b == 0xff) {
    if (consumed_ != total_ || s_.remaining() != 0) corrupt("ziplist terminator before its end");
    if (declared_count_ >= 0 && static_cast<std::uint64_t>(declared_count_) != seen_) {
      corrupt(fmt::format("ziplist header says {} entries, found {}", declared_count_, seen_));
    }
    return false;
  }
  const std::uint64_t entry_start = consumed_ - 1;
  std::uint64_t prevlen = b;
  if (b == 0xfe) {
    s_.read_exact(reinterpret_cast<char*>(x), 4);
    consumed_ += 4;
    prevlen = le(x, 4);
  }
  if (prevlen != prev_size_) corrupt("a ziplist entry's previous-length does not match");
  const unsigned e = s_.byte();
  ++consumed_;
  auto more = [&](unsigned n) {
    s_.read_exact(reinterpret_cast<char*>(x), n);
    consumed_ += n;
  };
  switch (e >> 6) {
    case 0:
      set_string(e & 0x3f);
      break;
    case 1:
      more(1);
      set_string((static_cast<std::uint64_t>(e & 0x3f) << 8) | x[0]);
      break;
    case 2:
      if (e != 0x80) corrupt(fmt::format("unknown ziplist string encoding 0x{:02x}", e));
      more(4);
      set_string((std::uint64_t{x[0]} << 24) | (std::uint64_t{x[1]} << 16) |
                 (std::uint64_t{x[2]} << 8) | x[3]);
      break;
    default:
      if (e == 0xc0) {
        more(2);
        set_int(signed_of(le(x, 2), 16));
      } else if (e == 0xd0) {
        more(4);
        set_int(signed_of(le(x, 4), 32));
      } else if (e == 0xe0) {
        more(8);
        set_int(signed_of(le(x, 8), 64));
      } else if (e == 0xf0) {
        more(3);
        set_int(signed_of(le(x, 3), 24));
      } else if (e == 0xfe) {
        more(1);
        set_int(signed_of(x[0], 8));
      } else if (e >= 0xf1 && e <= 0xfd) {
        set_int(static_cast<std::int64_t>(e & 0x0f) - 1);
      } else {
        corrupt(fmt::format("unknown ziplist encoding byte 0x{:02x}", e));
      }
  }
  prev_size_ = consumed_ - entry_start + (is_int() ? 0 : length());
  if (consumed_ + (is_int() ? 0 : length()) >= total_) {
    corrupt("ziplist entries pass the ziplist's size");
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// intset: <encoding u32: 2, 4 or 8><length u32> sorted little-endian integers.

intset_reader::intset_reader(string_stream& s) : element_reader(s) {
  unsigned char h[8];
  if (s.size() < 8) corrupt(fmt::format("an intset of {} bytes is too short", s.size()));
  s.read_exact(reinterpret_cast<char*>(h), 8);
  width_ = static_cast<unsigned>(le(h, 4));
  count_ = le(h + 4, 4);
  if (width_ != 2 && width_ != 4 && width_ != 8) {
    corrupt(fmt::format("intset element width {} is not 2, 4 or 8", width_));
  }
  if (8 + count_ * width_ != s.size()) {
    corrupt(fmt::format("intset of {} elements of {} bytes does not fill its {} bytes", count_,
                        width_, s.size()));
  }
  declared_count_ = static_cast<std::int64_t>(count_);
}

bool intset_reader::advance() {
  if (seen_ == count_) return false;
  unsigned char x[8];
  s_.read_exact(reinterpret_cast<char*>(x), width_);
  const std::int64_t v = signed_of(le(x, width_), width_ * 8);
  if (have_prev_ && v <= prev_) corrupt("intset elements are not strictly increasing");
  have_prev_ = true;
  prev_ = v;
  set_int(v);
  return true;
}

// ---------------------------------------------------------------------------------------------
// zipmap: <count byte> (<len><field><len><free byte><value><free bytes>)... 0xFF.

zipmap_reader::zipmap_reader(string_stream& s) : element_reader(s) {
  if (s.size() < 2) corrupt("a zipmap is too short");
  const unsigned n = s.byte();
  declared_count_ = n < 254 ? static_cast<std::int64_t>(n) : -1;
}

bool zipmap_reader::advance() {
  unsigned b = s_.byte();
  if (b == 0xff) {
    if (expect_value_) corrupt("a zipmap ends after a field without a value");
    if (s_.remaining() != 0) corrupt("zipmap terminator before its end");
    if (declared_count_ >= 0 && static_cast<std::uint64_t>(declared_count_) * 2 != seen_) {
      corrupt(
          fmt::format("zipmap header says {} pairs, found {} elements", declared_count_, seen_));
    }
    return false;
  }
  std::uint64_t len = b;
  if (b == 254) {
    unsigned char x[4];
    s_.read_exact(reinterpret_cast<char*>(x), 4);
    len = le(x, 4);
  }
  if (expect_value_) {
    free_ = s_.byte();
  } else {
    free_ = 0;
  }
  set_string(len);
  return true;
}

void zipmap_reader::after_element() {
  if (expect_value_ && free_ > 0) s_.skip(free_);
  expect_value_ = !expect_value_;
}

}  // namespace ferry::protocol::rdb::detail
