// CRC64 (Redis's crc64_jones) throughput: every DUMP payload and RDB file byte goes through it.

#include <benchmark/benchmark.h>

#include <string>

#include "protocol/rdb/crc64.hpp"

namespace {

void BM_crc64(benchmark::State& state) {
  const std::string data(static_cast<std::size_t>(state.range(0)), 'x');
  std::uint64_t crc = 0;
  for (auto _ : state) {
    crc = ferry::protocol::rdb::crc64(crc, data);
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(data.size()));
}
BENCHMARK(BM_crc64)->Arg(64)->Arg(4096)->Arg(1 << 20);

}  // namespace
