// lab_latency_probe: an application's steady load on a Redis server, and the latency it sees,
// for the lab's latency-impact scenario (bench/lab/run.sh --scenarios latency).
//
//   lab_latency_probe --port P [--host H] [--rate N] [--connections C] [--keys K]
//                     [--set-keys S] [--max-seconds T]
//   lab_latency_probe --port P --prefill [--set-keys S]
//
// Sends N requests per second in all (default 20,000) over C connections (default 4): GET of a
// random `key:%012d` below K (the lab's string keys; default 1,000,000) nine times in ten, and
// SET of one of S keys `lab:probe:%d` (default 100) to the value it already holds, so the load
// never changes the dataset the lab copies and checks. `--prefill` writes those S keys and exits.
//
// The load is open-loop: each request has a due time on a fixed schedule and its latency runs
// from that due time to its reply, so a server that stalls is charged for every request that
// waited (no coordinated omission). SIGUSR1 starts the next phase (the lab: before the copy,
// during it, after it); SIGTERM or SIGINT, or --max-seconds (default 900), ends the run. Prints
// one JSON line per phase: requests, seconds, achieved rate, p50/p99/p99.9/max latency in us.
// Uses the test harness's own client (tests/support), which shares no code with ferry.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/sync_client.hpp"

namespace {

using namespace ferry::testing;
using clock_type = std::chrono::steady_clock;

constexpr int max_phases = 8;

volatile std::sig_atomic_t phase_signals = 0;
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void on_next_phase(int) { phase_signals = phase_signals + 1; }
extern "C" void on_stop(int) { stop_signal = 1; }

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  double rate = 20'000;
  int connections = 4;
  std::uint64_t keys = 1'000'000;
  int set_keys = 100;
  double max_seconds = 900;
  bool prefill = false;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "lab_latency_probe: %s\n"
               "usage: lab_latency_probe --port P [--host H] [--rate N] [--connections C] "
               "[--keys K] [--set-keys S] [--max-seconds T] | --port P --prefill\n",
               problem.c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--port") {
        o.port = static_cast<std::uint16_t>(std::stoul(value()));
      } else if (arg == "--host") {
        o.host = value();
      } else if (arg == "--rate") {
        o.rate = std::stod(value());
      } else if (arg == "--connections") {
        o.connections = std::stoi(value());
      } else if (arg == "--keys") {
        o.keys = std::stoull(value());
      } else if (arg == "--set-keys") {
        o.set_keys = std::stoi(value());
      } else if (arg == "--max-seconds") {
        o.max_seconds = std::stod(value());
      } else if (arg == "--prefill") {
        o.prefill = true;
      } else {
        usage("unknown option " + arg);
      }
    } catch (const std::logic_error&) {
      usage("bad value for " + arg);
    }
  }
  if (o.port == 0) usage("--port is required");
  if (o.rate <= 0 || o.rate > 1e6) usage("--rate wants 1..1000000");
  if (o.connections < 1 || o.connections > 64) usage("--connections wants 1..64");
  if (o.keys == 0 || o.set_keys < 1) usage("--keys and --set-keys want at least 1");
  return o;
}

std::string probe_key(int i) { return fmt::format("lab:probe:{}", i); }
std::string probe_value(int i) { return fmt::format("probe-value-{:06d}", i); }

/// Latencies (us) of one connection, per phase.
struct samples {
  std::vector<std::vector<std::uint32_t>> by_phase =
      std::vector<std::vector<std::uint32_t>>(max_phases);
  std::vector<double> phase_seconds = std::vector<double>(max_phases, 0.0);
  std::string error;
};

void run_connection(const options& o, int index, const std::atomic<int>& phase, samples& out,
                    std::atomic<int>& finished) {
  struct mark_finished {
    std::atomic<int>& count;
    ~mark_finished() { count.fetch_add(1); }
  } on_exit{finished};
  try {
    client_options where;
    where.host = o.host;
    where.port = o.port;
    sync_client client(where);
    std::mt19937_64 random(1000 + static_cast<std::uint64_t>(index));
    const auto interval = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(o.connections / o.rate));
    const auto start = clock_type::now();
    const auto end = start + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(o.max_seconds));
    auto due = start;
    auto phase_started = start;
    int current = 0;
    for (std::uint64_t n = 0; stop_signal == 0; ++n, due += interval) {
      if (due >= end) break;
      const int now_phase = std::min(phase.load(std::memory_order_relaxed), max_phases - 1);
      if (now_phase != current) {
        out.phase_seconds[current] +=
            std::chrono::duration<double>(clock_type::now() - phase_started).count();
        phase_started = clock_type::now();
        current = now_phase;
      }
      std::this_thread::sleep_until(due);
      reply answer;
      if (random() % 10 == 0) {
        const int k = static_cast<int>(random() % static_cast<std::uint64_t>(o.set_keys));
        answer = client.command({"SET", probe_key(k), probe_value(k)});
      } else {
        answer = client.command({"GET", fmt::format("key:{:012d}", random() % o.keys)});
      }
      if (answer.is_error()) {
        out.error = fmt::format("{}: {}", client.address(), answer.str);
        return;
      }
      const auto took =
          std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - due);
      out.by_phase[current].push_back(static_cast<std::uint32_t>(
          std::min<std::int64_t>(took.count(), std::numeric_limits<std::uint32_t>::max())));
    }
    out.phase_seconds[current] +=
        std::chrono::duration<double>(clock_type::now() - phase_started).count();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
}

double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(at, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  if (o.prefill) {
    try {
      client_options where;
      where.host = o.host;
      where.port = o.port;
      sync_client client(where);
      std::vector<std::vector<std::string>> sets;
      for (int i = 0; i < o.set_keys; ++i) sets.push_back({"SET", probe_key(i), probe_value(i)});
      for (const auto& answer : client.pipeline(sets)) {
        if (answer.is_error()) throw std::runtime_error(answer.str);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lab_latency_probe: prefill of 127.0.0.1:%u failed: %s\n", o.port,
                   e.what());
      return 1;
    }
    std::printf("{\"prefilled\":%d}\n", o.set_keys);
    return 0;
  }

  std::signal(SIGUSR1, on_next_phase);
  std::signal(SIGTERM, on_stop);
  std::signal(SIGINT, on_stop);
  std::atomic<int> phase{0};
  std::atomic<int> finished{0};
  std::vector<samples> results(static_cast<std::size_t>(o.connections));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back(run_connection, std::cref(o), i, std::cref(phase),
                         std::ref(results[static_cast<std::size_t>(i)]), std::ref(finished));
  }
  // The signal handler only counts; the threads read the phase from here.
  while (stop_signal == 0 && finished.load() < o.connections) {
    phase.store(std::min(static_cast<int>(phase_signals), max_phases - 1));
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  stop_signal = 1;
  for (auto& t : threads) t.join();

  int status = 0;
  for (const auto& r : results) {
    if (!r.error.empty()) {
      std::fprintf(stderr, "lab_latency_probe: a connection failed: %s\n", r.error.c_str());
      status = 1;
    }
  }
  for (int p = 0; p < max_phases; ++p) {
    std::vector<std::uint32_t> all;
    double seconds = 0;
    for (const auto& r : results) {
      all.insert(all.end(), r.by_phase[p].begin(), r.by_phase[p].end());
      seconds = std::max(seconds, r.phase_seconds[p]);
    }
    if (all.empty()) continue;
    std::sort(all.begin(), all.end());
    std::printf(
        "{\"phase\":%d,\"requests\":%zu,\"seconds\":%.2f,\"rate\":%.0f,\"p50_us\":%.0f,"
        "\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%u}\n",
        p, all.size(), seconds, seconds > 0 ? static_cast<double>(all.size()) / seconds : 0.0,
        percentile(all, 0.50), percentile(all, 0.99), percentile(all, 0.999), all.back());
  }
  return status;
}
