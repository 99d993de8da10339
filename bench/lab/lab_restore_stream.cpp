// lab_restore_stream: writes the RESTORE commands that copy a source's keys, as a RESP stream
// for `redis-cli --pipe`. The lab feeds it to the TLS target to measure the target's RESTORE
// ingest rate on its own, with a reference client instead of ferry.
//
//   lab_restore_stream --port P [--host H] [--tls --cacert CA] [--cluster] --out FILE
//
// SCANs every master, pipelines DUMP + PEXPIRETIME, and writes
// `RESTORE key <abs-ms or 0> <payload> ABSTTL REPLACE` per key (REPLACE, so the stream can be
// replayed onto a target that already holds the keys). Uses the harness's client only.
//
// Prints one JSON line: {"keys":N,"dump_bytes":B,"stream_bytes":S,"seconds":T}.

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/cluster_client.hpp"
#include "tests/support/sync_client.hpp"

namespace {

using namespace ferry::testing;

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "lab_restore_stream: %s\n"
               "usage: lab_restore_stream --port P [--host H] [--tls --cacert FILE] [--cluster] "
               "--out FILE\n",
               problem.c_str());
  std::exit(2);
}

void put_bulk(std::string& out, std::string_view value) {
  out += '$';
  out += std::to_string(value.size());
  out += "\r\n";
  out.append(value);
  out += "\r\n";
}

struct totals {
  std::size_t keys = 0;
  std::size_t dump_bytes = 0;
  std::size_t stream_bytes = 0;
};

// One master: SCAN, then DUMP + PEXPIRETIME for each reply's keys in one pipeline.
void stream_node(sync_client& node, std::ofstream& out, totals& sum) {
  std::string cursor = "0";
  std::string text;
  do {
    const reply scan = node.checked({"SCAN", cursor, "COUNT", "1000"});
    cursor = scan[0].str;
    const auto& keys = scan[1].elements;
    if (keys.empty()) continue;
    std::string commands;
    for (const reply& key : keys) {
      commands += "*2\r\n$4\r\nDUMP\r\n";
      put_bulk(commands, key.str);
      commands += "*2\r\n$11\r\nPEXPIRETIME\r\n";
      put_bulk(commands, key.str);
    }
    const auto replies = node.raw(commands, 2 * keys.size());
    text.clear();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const reply& dump = replies[2 * i];
      const reply& expiry = replies[2 * i + 1];
      if (dump.is_error() || expiry.is_error()) {
        throw std::runtime_error(fmt::format("DUMP {} failed on {}: {}", printable(keys[i].str),
                                             node.address(),
                                             dump.is_error() ? dump.str : expiry.str));
      }
      if (dump.is_nil() || expiry.integer == -2) continue;  // gone since SCAN
      text += "*6\r\n$7\r\nRESTORE\r\n";
      put_bulk(text, keys[i].str);
      put_bulk(text, std::to_string(expiry.integer > 0 ? expiry.integer : 0));
      put_bulk(text, dump.str);
      text += "$6\r\nABSTTL\r\n$7\r\nREPLACE\r\n";
      ++sum.keys;
      sum.dump_bytes += dump.str.size();
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    sum.stream_bytes += text.size();
  } while (cursor != "0");
}

}  // namespace

int main(int argc, char** argv) {
  client_options connect;
  connect.host = "127.0.0.1";
  connect.timeout = std::chrono::milliseconds{120'000};
  bool cluster = false;
  std::string cacert, out_path;
  bool tls = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", a));
      return argv[++i];
    };
    if (a == "--host") {
      connect.host = value();
    } else if (a == "--port") {
      connect.port = static_cast<std::uint16_t>(std::stoul(value()));
    } else if (a == "--tls") {
      tls = true;
    } else if (a == "--cacert") {
      cacert = value();
    } else if (a == "--cluster") {
      cluster = true;
    } else if (a == "--out") {
      out_path = value();
    } else {
      usage(fmt::format("unknown argument '{}'", a));
    }
  }
  if (connect.port == 0 || out_path.empty()) usage("--port and --out are required");
  if (tls) {
    tls_client_options options;
    options.ca_file = cacert;
    connect.tls = options;
  }
  const auto started = std::chrono::steady_clock::now();
  try {
    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + out_path);
    totals sum;
    if (cluster) {
      cluster_client nodes(connect);
      for (sync_client* master : nodes.masters()) stream_node(*master, out, sum);
    } else {
      sync_client node(connect);
      stream_node(node, out, sum);
    }
    out.close();
    if (!out) throw std::runtime_error("writing " + out_path + " failed");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("{{\"keys\":{},\"dump_bytes\":{},\"stream_bytes\":{},\"seconds\":{:.2f}}}\n",
               sum.keys, sum.dump_bytes, sum.stream_bytes, seconds);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lab_restore_stream: %s\n", e.what());
    return 1;
  }
  return 0;
}
