// lab_sync_load: writes to a Redis server at a fixed rate for the sync lab (bench/lab/sync.sh):
// a mix of small writes (SET of a 100-byte value, HSET of one field, INCR, DEL) on random keys
// of a fixed key space, sent in pipelined bursts every millisecond so that the rate holds
// without a connection per write.
//
//   lab_sync_load --port P [--host H] [--cluster] --rate N --seconds S [--keys K] [--seed S]
//
// Prints one JSON line: {"rate": asked, "ops": sent, "seconds": taken, "achieved": ops/s,
// "late_ms": how far behind schedule the last burst went}. Writes go through the harness's own
// client (tests/support), which shares no code with ferry.

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/cluster_client.hpp"
#include "tests/support/sync_client.hpp"

namespace {

using namespace ferry::testing;

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "lab_sync_load: %s\n"
               "usage: lab_sync_load --port P [--host H] [--cluster] --rate N --seconds S "
               "[--keys K] [--seed S]\n",
               problem.c_str());
  std::exit(2);
}

std::uint64_t number(const char* text, const char* name) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage(fmt::format("{} wants a number, not '{}'", name, text));
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::uint64_t rate = 0, seconds = 0, keys = 100'000, seed = 1;
  bool cluster = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--host") {
      host = value();
    } else if (a == "--port") {
      port = static_cast<std::uint16_t>(number(value(), "--port"));
    } else if (a == "--cluster") {
      cluster = true;
    } else if (a == "--rate") {
      rate = number(value(), "--rate");
    } else if (a == "--seconds") {
      seconds = number(value(), "--seconds");
    } else if (a == "--keys") {
      keys = number(value(), "--keys");
    } else if (a == "--seed") {
      seed = number(value(), "--seed");
    } else {
      usage(fmt::format("unknown argument '{}'", a));
    }
  }
  if (port == 0 || rate == 0 || seconds == 0 || keys == 0) {
    usage("--port, --rate and --seconds are required");
  }
  try {
    client_options options;
    options.host = host;
    options.port = port;
    options.timeout = std::chrono::seconds{30};
    std::unique_ptr<key_router> client;
    if (cluster) {
      client = std::make_unique<cluster_client>(options);
    } else {
      client = std::make_unique<sync_client>(options);
    }
    std::mt19937_64 rng(seed);
    const std::string value(100, 'v');
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto end = start + std::chrono::seconds{seconds};
    std::uint64_t sent = 0;
    std::vector<std::vector<std::string>> burst;
    auto due = start;
    double late_ms = 0;
    while (due < end) {
      // Whatever the schedule owes by now goes in one pipeline.
      const auto now = clock::now();
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const auto owed = static_cast<std::uint64_t>(elapsed * static_cast<double>(rate));
      burst.clear();
      for (; sent + burst.size() < owed && burst.size() < 10'000;) {
        const std::string key = fmt::format("load:{:08}", rng() % keys);
        switch (rng() % 10) {
          case 0:
            burst.push_back({"HSET", key + ":h", "f", value});
            break;
          case 1:
            burst.push_back({"INCR", key + ":n"});
            break;
          case 2:
            burst.push_back({"DEL", key});
            break;
          default:
            burst.push_back({"SET", key, value});
            break;
        }
      }
      if (!burst.empty()) {
        client->pipeline_keyed(burst);
        sent += burst.size();
      }
      late_ms = std::max(0.0, (elapsed * static_cast<double>(rate) - static_cast<double>(sent)) /
                                  static_cast<double>(rate) * 1000.0);
      due += std::chrono::milliseconds{1};
      std::this_thread::sleep_until(due);
    }
    const double taken = std::chrono::duration<double>(clock::now() - start).count();
    std::printf(
        "{\"rate\": %llu, \"ops\": %llu, \"seconds\": %.3f, \"achieved\": %.0f, "
        "\"late_ms\": %.1f}\n",
        static_cast<unsigned long long>(rate), static_cast<unsigned long long>(sent), taken,
        static_cast<double>(sent) / taken, late_ms);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lab_sync_load: %s\n", e.what());
    return 1;
  }
}
