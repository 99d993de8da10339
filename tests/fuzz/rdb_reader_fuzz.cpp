// libFuzzer target for the RDB library (protocol/rdb): arbitrary bytes as an RDB file (read to
// the end, with values over a small payload limit streamed through the decoder), as the body of
// a DUMP payload of some version (decoded; downgraded), and as an LZF block. Must never crash,
// leak, or allocate beyond a small multiple of the input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/rdb/decode.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/lzf.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/reader.hpp"
#include "protocol/rdb/source.hpp"

namespace {

using namespace ferry::protocol::rdb;

decode_options small_limits() {
  decode_options d;
  d.piece_bytes = 4096;
  d.max_whole_bytes = 1 << 20;
  d.max_group_pending = 1 << 16;
  return d;
}

void read_file(std::string_view bytes, std::size_t payload_limit) {
  memory_source source(bytes);
  reader_options o;
  o.max_payload_bytes = payload_limit;
  o.max_record_bytes = 1 << 20;
  o.decode = small_limits();
  o.buffer_bytes = 4096;
  o.verify_checksum = false;  // let corrupted files reach the structures
  file_reader reader(source, o);
  for (int records = 0; records < 100000; ++records) {
    auto r = reader.next();
    if (!r || *r == nullptr) return;
    if ((**r).type == record_type::key && (**r).key.streamed) {
      for (int events = 0; events < 1000000; ++events) {
        auto e = reader.next_value_event();
        if (!e || *e == nullptr) break;
      }
    }
  }
}

void decode_payload(std::string_view body, std::uint16_t version) {
  if (body.empty()) return;
  std::string payload(body);
  append_trailer(payload, version);
  auto d = value_decoder::from_payload(payload, small_limits());
  if (d) {
    for (int events = 0; events < 1000000; ++events) {
      auto e = d->next();
      if (!e || *e == nullptr) break;
    }
  }
  (void)downgrade_payload(payload, version::redis_5);
  (void)downgrade_payload(payload, version::valkey_first);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::uint8_t mode = data[0] % 4;
  const std::string_view rest = all.substr(2);
  static constexpr std::uint16_t versions[] = {1, 5, 7, 8, 9, 10, 11, 12, 80};
  const std::uint16_t version = versions[data[1] % 9];
  switch (mode) {
    case 0:
      read_file(rest, 1 << 20);
      break;
    case 1:
      read_file(rest, 48);  // nearly every value streams through the decoder
      break;
    case 2:
      decode_payload(rest, version);
      break;
    default:
      (void)lzf_decompress(rest.substr(rest.size() / 2), rest.size() * 4 + data[1]);
      break;
  }
  return 0;
}
