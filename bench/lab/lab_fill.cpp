// lab_fill: fills a Redis server or cluster with a deterministic dataset for the lab
// (bench/lab/run.sh) and the demo (cli/demo.sh).
//
//   lab_fill --port 7000 [--host H] [--tls --cacert CA] [--cluster] --dataset D [--count N]
//            [--seed S] [--value-size B]
//
// Datasets:
//   every-type     every type and encoding DUMP can carry, odd key names, hash tags, expiries
//                  (tests/support/dataset.hpp); --count = keys per small kind (default 20)
//   small-strings  --count (default 1,000,000) keys of --value-size (default 100) random bytes
//   big-strings    --count (default 2,000) keys of --value-size (default 102,400) random bytes
//   mixed          --count (default 200,000) keys of every type, 30 % with an expiry
//
// String keys are named `key:%012d` (0 .. count-1), the names redis-benchmark's `__rand_int__`
// produces with `-r count`, so reference measurements hit real keys. Writes go through the
// harness's own client (tests/support), which shares no code with ferry.
//
// Prints one JSON line: {"dataset":..., "keys":N, "keys_with_expiry":N, "seconds":S}.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/cluster_client.hpp"
#include "tests/support/dataset.hpp"
#include "tests/support/sync_client.hpp"

namespace {

using namespace ferry::testing;

struct options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool tls = false;
  std::string cacert;
  std::string server_name = "localhost";
  bool cluster = false;
  std::string dataset = "every-type";
  std::size_t count = 0;  // 0: the dataset's default
  std::size_t value_size = 0;
  std::uint64_t seed = 1;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "lab_fill: %s\n"
               "usage: lab_fill --port P [--host H] [--tls --cacert FILE [--server-name N]] "
               "[--cluster]\n"
               "                --dataset every-type|small-strings|big-strings|mixed "
               "[--count N] [--value-size B] [--seed S]\n",
               problem.c_str());
  std::exit(2);
}

std::uint64_t number(const char* text, const char* name) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') usage(fmt::format("{} wants a number, not '{}'", name, text));
  return value;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      o.port = static_cast<std::uint16_t>(number(value(), "--port"));
    } else if (a == "--tls") {
      o.tls = true;
    } else if (a == "--cacert") {
      o.cacert = value();
    } else if (a == "--server-name") {
      o.server_name = value();
    } else if (a == "--cluster") {
      o.cluster = true;
    } else if (a == "--dataset") {
      o.dataset = value();
    } else if (a == "--count") {
      o.count = number(value(), "--count");
    } else if (a == "--value-size") {
      o.value_size = number(value(), "--value-size");
    } else if (a == "--seed") {
      o.seed = number(value(), "--seed");
    } else if (a == "--help" || a == "-h") {
      usage("help");
    } else {
      usage(fmt::format("unknown argument '{}'", a));
    }
  }
  if (o.port == 0) usage("--port is required");
  if (o.tls && o.cacert.empty()) usage("--tls needs --cacert");
  return o;
}

// splitmix64, as in tests/support/dataset.cpp: the same bytes on every platform.
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  void fill(char* out, std::size_t size) {
    for (std::size_t i = 0; i < size; i += 8) {
      const std::uint64_t word = next();
      std::memcpy(out + i, &word, std::min<std::size_t>(8, size - i));
    }
  }

 private:
  std::uint64_t state_;
};

// SET commands encoded straight into RESP and sent in large pipelines (per owning node on a
// cluster): a million keys take a few seconds instead of the generic writer's tens.
class string_filler {
 public:
  explicit string_filler(key_router& target, cluster_client* cluster)
      : target_(target), cluster_(cluster) {}

  void set(const std::string& key, std::string_view value) {
    sync_client& node = cluster_ != nullptr ? cluster_->master_for_slot(key_hash_slot(key))
                                            : *target_.shard_clients().front();
    auto& batch = batches_[&node];
    batch.text +=
        fmt::format("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n${}\r\n", key.size(), key, value.size());
    batch.text.append(value);
    batch.text += "\r\n";
    ++batch.commands;
    if (batch.commands >= 2000 || batch.text.size() >= (std::size_t{8} << 20)) flush(node, batch);
  }

  void finish() {
    for (auto& [node, batch] : batches_) flush(*node, batch);
  }

 private:
  struct batch {
    std::string text;
    std::size_t commands = 0;
  };

  static void flush(sync_client& node, batch& b) {
    if (b.commands == 0) return;
    for (const reply& r : node.raw(b.text, b.commands)) {
      if (r.is_error()) throw std::runtime_error("SET failed on " + node.address() + ": " + r.str);
    }
    b.text.clear();
    b.commands = 0;
  }

  key_router& target_;
  cluster_client* cluster_;
  std::map<sync_client*, batch> batches_;
};

fill_result fill_strings_fast(key_router& target, cluster_client* cluster, std::size_t count,
                              std::size_t value_size, std::uint64_t seed) {
  generator gen(seed);
  string_filler out(target, cluster);
  std::string value(value_size, '\0');
  for (std::size_t i = 0; i < count; ++i) {
    gen.fill(value.data(), value.size());
    out.set(fmt::format("key:{:012}", i), value);
  }
  out.finish();
  return {count, 0, 0};
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  client_options connect;
  connect.host = o.host;
  connect.port = o.port;
  connect.timeout = std::chrono::milliseconds{120'000};
  if (o.tls) {
    tls_client_options tls;
    tls.ca_file = o.cacert;
    tls.server_name = o.server_name;
    connect.tls = tls;
  }
  const auto started = std::chrono::steady_clock::now();
  try {
    std::unique_ptr<cluster_client> cluster;
    std::unique_ptr<sync_client> single;
    key_router* target = nullptr;
    if (o.cluster) {
      cluster = std::make_unique<cluster_client>(connect);
      target = cluster.get();
    } else {
      single = std::make_unique<sync_client>(connect);
      target = single.get();
    }

    fill_result result;
    if (o.dataset == "small-strings") {
      result = fill_strings_fast(*target, cluster.get(), o.count ? o.count : 1'000'000,
                                 o.value_size ? o.value_size : 100, o.seed);
    } else if (o.dataset == "big-strings") {
      result = fill_strings_fast(*target, cluster.get(), o.count ? o.count : 2'000,
                                 o.value_size ? o.value_size : 100 * 1024, o.seed);
    } else if (o.dataset == "every-type" || o.dataset == "mixed") {
      dataset_options d;
      d.seed = o.seed;
      if (o.dataset == "every-type") {
        if (o.count) d.count_per_kind = o.count;
      } else {
        // Nine small kinds per round, plus a few big keys of each large kind; the odd names
        // (binary, hash tags, the empty key) come on top.
        const std::size_t total = o.count ? o.count : 200'000;
        d.big_per_kind = std::max<std::size_t>(1, total / 20'000);
        d.count_per_kind = std::max<std::size_t>(1, (total - 9 * d.big_per_kind) / 9);
        d.with_expiry_fraction = 0.3;
      }
      result = fill_every_type(*target, d);
    } else {
      usage(fmt::format("unknown dataset '{}'", o.dataset));
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("{{\"dataset\":\"{}\",\"keys\":{},\"keys_with_expiry\":{},\"seconds\":{:.2f}}}\n",
               o.dataset, result.keys, result.keys_with_expiry, seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lab_fill: %s\n", e.what());
    return 1;
  }
  return 0;
}
