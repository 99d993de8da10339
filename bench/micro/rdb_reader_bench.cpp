// The RDB reader building DUMP payloads from a file (the import path: walk lengths, copy bytes,
// new CRC64 per key) and the struct-mode decoder on a listpack hash payload.

#include <benchmark/benchmark.h>

#include <string>

#include "protocol/rdb/decode.hpp"
#include "protocol/rdb/format.hpp"
#include "protocol/rdb/payload.hpp"
#include "protocol/rdb/reader.hpp"
#include "protocol/rdb/writer.hpp"

namespace {

using namespace ferry::protocol::rdb;

// A file of `keys` string keys with `value_size`-byte values.
std::string make_file(int keys, std::size_t value_size) {
  std::string file;
  string_sink sink(file);
  file_writer w(sink, writer_options{});
  const std::string value(value_size, 'v');
  std::string body(1, static_cast<char>(value_size));  // 6-bit length: value_size < 64
  body += value;
  const std::string payload = make_payload(type::string, body, 11);
  for (int i = 0; i < keys; ++i) (void)w.key("key:" + std::to_string(i), payload);
  (void)w.finish();
  return file;
}

void BM_read_file_small_keys(benchmark::State& state) {
  const std::string file = make_file(10000, 32);
  for (auto _ : state) {
    memory_source source(file);
    file_reader reader(source);
    std::size_t keys = 0;
    for (auto r = reader.next(); r.ok() && *r != nullptr; r = reader.next()) {
      keys += (**r).type == record_type::key;
    }
    benchmark::DoNotOptimize(keys);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * file.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 10000);
}
BENCHMARK(BM_read_file_small_keys);

void BM_decode_plain_hash(benchmark::State& state) {
  std::string body;
  body += static_cast<char>(0x40);  // 14-bit length: 100 fields
  body += static_cast<char>(100);
  std::size_t bytes = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string f = "field-" + std::to_string(i);
    const std::string v = "value-" + std::to_string(i * 7);
    body += static_cast<char>(f.size());
    body += f;
    body += static_cast<char>(v.size());
    body += v;
    bytes += f.size() + v.size();
  }
  const std::string payload = make_payload(type::hash, body, 11);
  for (auto _ : state) {
    auto d = value_decoder::from_payload(std::string_view(payload));
    std::size_t n = 0;
    for (auto e = d->next(); e.ok() && *e != nullptr; e = d->next()) n += (**e).data.size();
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_decode_plain_hash);

}  // namespace
