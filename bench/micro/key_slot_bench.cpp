// How fast a key is routed to its cluster slot: CRC16 over keys of typical sizes, some with a
// {hash tag}. The writer calls key_slot once per key on an OSS-cluster target.

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/wire/key_slot.hpp"

namespace {

// A fixed set of keys of `size` bytes, every fourth one with a hash tag, so that both paths of
// key_slot are measured. Deterministic: the same keys on every run.
std::vector<std::string> make_keys(std::size_t size) {
  std::vector<std::string> keys;
  std::uint32_t state = 12345;
  for (int i = 0; i < 1024; ++i) {
    std::string key;
    key.reserve(size);
    if (i % 4 == 0) key = "{user" + std::to_string(i) + "}:";
    while (key.size() < size) {
      state = state * 1664525u + 1013904223u;  // LCG: cheap, fixed, good enough for key bytes
      key.push_back(static_cast<char>('a' + (state >> 24) % 26));
    }
    key.resize(size);
    keys.push_back(std::move(key));
  }
  return keys;
}

void BM_key_slot(benchmark::State& state) {
  const auto keys = make_keys(static_cast<std::size_t>(state.range(0)));
  std::size_t i = 0;
  for (auto _ : state) {
    auto slot = ferry::protocol::key_slot(keys[i]);
    benchmark::DoNotOptimize(slot);
    i = (i + 1) % keys.size();
  }
  // Bytes are whole key bytes routed, although a tagged key hashes only its tag: that is the rate
  // a writer sees.
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_key_slot)->Arg(16)->Arg(64);

}  // namespace
