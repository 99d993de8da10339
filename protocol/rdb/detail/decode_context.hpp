#pragma once
// What the value decoders share (decode.cpp for every type but streams, decode_stream.cpp for
// streams): the state one value's decoding carries and the piece-yielding macro.

#include <algorithm>
#include <cstdint>
#include <string>

#include "protocol/rdb/decode.hpp"
#include "protocol/rdb/detail/blobs.hpp"
#include "protocol/rdb/detail/generator.hpp"
#include "protocol/rdb/detail/input.hpp"

// Yields the bytes of the current item of `src` (anything with `read_some`) as events of type
// `kind` in pieces of at most `opts.piece_bytes`; an empty item is one event with no bytes.
#define FERRY_RDB_YIELD_PIECES(ev, src, total, kind, buf, opts)                           \
  do {                                                                                    \
    (ev).type = (kind);                                                                   \
    (ev).item_size = (total);                                                             \
    (ev).piece_offset = 0;                                                                \
    (buf).resize(static_cast<std::size_t>(                                                \
        std::min<std::uint64_t>((total), std::max<std::size_t>((opts).piece_bytes, 1)))); \
    do {                                                                                  \
      const std::size_t n_ = (src).read_some((buf).data(), (buf).size());                 \
      (ev).data = std::string_view((buf).data(), n_);                                     \
      co_yield (ev);                                                                      \
      (ev).piece_offset += n_;                                                            \
      if (n_ == 0) break;                                                                 \
    } while ((ev).piece_offset < (total));                                                \
  } while (false)
namespace ferry::protocol::rdb::detail {

struct decoder_context {
  input& in;
  std::uint8_t type_id;
  std::uint16_t version;
  decode_options opts;
  value_event ev;
  std::string buf;
  std::string whole;
};

inline void begin(decoder_context& c, value_kind kind, std::int64_t count) {
  c.ev = value_event{};
  c.ev.type = event_type::begin;
  c.ev.kind = kind;
  c.ev.type_id = c.type_id;
  c.ev.count = count;
}

inline std::int64_t as_count(std::uint64_t n) {
  return n > static_cast<std::uint64_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(n);
}

/// The next listpack element as an integer (stream node fields are integers, or their text).
std::int64_t int_of(element_reader& r, const char* what);

/// A stream value of type 15, 19 or 21.
generator<value_event> decode_stream(decoder_context& c);

}  // namespace ferry::protocol::rdb::detail
