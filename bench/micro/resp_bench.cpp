// The RESP hot paths of a copy: parsing DUMP / PEXPIRETIME replies and encoding RESTORE
// commands whose payloads are referenced, not copied.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "protocol/wire/command.hpp"
#include "protocol/wire/resp_reader.hpp"

namespace {

using ferry::protocol::bytes;
using ferry::protocol::command_buffer;
using ferry::protocol::resp_reader;

std::string random_payload(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Appends (not operator+: GCC 12's -Wrestrict misfires on chains of string concatenation).
void append_bulk(std::string& out, const std::string& payload) {
  out.append("$").append(std::to_string(payload.size())).append("\r\n");
  out.append(payload).append("\r\n");
}

void append_integer(std::string& out, std::int64_t value) {
  out.append(":").append(std::to_string(value)).append("\r\n");
}

// Feeds the whole input, drains every reply; returns how many there were.
std::size_t drain(resp_reader& reader, const std::string& input) {
  reader.feed(input);
  std::size_t n = 0;
  for (;;) {
    auto r = reader.next();
    if (!r.has_value() || !r->has_value()) break;
    benchmark::DoNotOptimize(r->value().str.data());
    ++n;
  }
  return n;
}

// One DUMP reply (a bulk string) of state.range(0) bytes.
void BM_parse_dump_reply(benchmark::State& state) {
  std::string input;
  append_bulk(input, random_payload(static_cast<std::size_t>(state.range(0)), 1));
  resp_reader reader;
  for (auto _ : state) {
    if (drain(reader, input) != 1) state.SkipWithError("no reply");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse_dump_reply)->Arg(100)->Arg(100'000);

// A pipeline of 1000 replies as a reader connection sees them: DUMP bulk, PEXPIRETIME integer,
// alternating. state.range(0) is the payload size; the stream is fed in 64 KiB socket reads.
void BM_parse_pipeline_1000(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::string input;
  for (int i = 0; i < 500; ++i) {
    append_bulk(input, random_payload(size, static_cast<std::uint64_t>(i)));
    append_integer(input, 1'700'000'000'000 + i);
  }
  constexpr std::size_t read_size = 64 * 1024;
  resp_reader reader;
  for (auto _ : state) {
    std::size_t replies = 0;
    for (std::size_t pos = 0; pos < input.size(); pos += read_size) {
      replies += drain(reader, input.substr(pos, read_size));
    }
    if (replies != 1000) state.SkipWithError("lost replies");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_parse_pipeline_1000)->Arg(100)->Arg(10'000);

// The same kind of pipeline (state.range(0) replies, 100-byte payloads) handed over in one piece,
// as from a large socket buffer: the cost per reply must not grow with the pipeline.
void BM_parse_pipeline_one_feed(benchmark::State& state) {
  const auto replies = static_cast<std::size_t>(state.range(0));
  std::string input;
  for (std::size_t i = 0; i < replies / 2; ++i) {
    append_bulk(input, random_payload(100, i));
    append_integer(input, 1'700'000'000'000 + static_cast<std::int64_t>(i));
  }
  resp_reader reader;
  for (auto _ : state) {
    if (drain(reader, input) != replies) state.SkipWithError("lost replies");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(replies));
}
BENCHMARK(BM_parse_pipeline_one_feed)->Arg(1000)->Arg(10'000);

// 1000 `RESTORE key <abs-ms> <payload> ABSTTL REPLACE` into a reused buffer; the payload is
// passed by reference (state.range(0) bytes: 100 is copied inline, 10000 is referenced).
void BM_encode_restore_1000(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  std::vector<std::string> keys;
  std::vector<bytes> payloads;
  for (int i = 0; i < 1000; ++i) {
    keys.push_back(std::string("user:session:").append(std::to_string(i * 7919)));
    payloads.push_back(bytes::copy_of(random_payload(size, static_cast<std::uint64_t>(i))));
  }
  command_buffer buf;
  std::size_t encoded = 0;
  for (auto _ : state) {
    buf.clear();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      buf.begin(6);
      buf.arg("RESTORE");
      buf.arg(keys[i]);
      buf.arg(std::int64_t{1'700'000'000'000} + static_cast<std::int64_t>(i));
      buf.arg_ref(payloads[i]);
      buf.arg("ABSTTL");
      buf.arg("REPLACE");
    }
    benchmark::DoNotOptimize(buf.segments().data());
    encoded += buf.size_bytes();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(encoded));
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_encode_restore_1000)->Arg(100)->Arg(10'000);

}  // namespace
