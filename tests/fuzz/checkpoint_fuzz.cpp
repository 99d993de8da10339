// Fuzzes the state file loader (engine/copy/checkpoint): checkpoint_from_json over any JSON text,
// and load_checkpoint over the same bytes written to a file.
//
// A state file decides where a resumed job starts scanning, so what is accepted must be exactly
// what save_checkpoint would have written for it: an accepted state, written back with to_json,
// reads back equal; and the file loader agrees with the JSON loader.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/copy/checkpoint.hpp"

namespace {

using namespace ferry::engine;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "checkpoint_fuzz: %s\n", what);
  std::abort();
}

bool same(const counts& a, const counts& b) {
  return a.scanned == b.scanned && a.copied == b.copied && a.vanished == b.vanished &&
         a.skipped == b.skipped && a.failed == b.failed && a.bytes == b.bytes &&
         a.retries == b.retries && a.rescanned == b.rescanned;
}

bool same(const checkpoint& a, const checkpoint& b) {
  if (!(a.job == b.job) || a.job_id != b.job_id || a.generation != b.generation ||
      a.status != b.status || a.moved != b.moved || a.part_slots != b.part_slots ||
      a.shards.size() != b.shards.size() || a.marks.size() != b.marks.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.marks.size(); ++i) {
    const auto& x = a.marks[i];
    const auto& y = b.marks[i];
    if (x.key != y.key || x.slot != y.slot || x.node != y.node || x.run_id != y.run_id) {
      return false;
    }
  }
  for (std::size_t i = 0; i < a.shards.size(); ++i) {
    const auto& x = a.shards[i];
    const auto& y = b.shards[i];
    if (x.address != y.address || x.node_id != y.node_id || x.run_id != y.run_id ||
        x.position.cursor != y.position.cursor || x.position.complete != y.position.complete ||
        !same(x.position.done, y.position.done) || x.slots != y.slots) {
      return false;
    }
  }
  return true;
}

// One file per fuzzing process, on a tmpfs when there is one: the loader reads a path.
const std::string& state_path() {
  static const std::string path = [] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/ferry-checkpoint-fuzz-" + std::to_string(getpid()) + ".json";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  boost::system::result<checkpoint, std::string> from_json = std::string("not JSON");
  if (!json.is_discarded()) {
    from_json = checkpoint_from_json(json);
    if (from_json) {
      // A cursor is read only from decimal digits, a count only from a whole number >= 0.
      for (const auto& entry : json.at("shards")) {
        const auto& cursor = entry.at("cursor").get_ref<const std::string&>();
        if (cursor.empty() || cursor.find_first_not_of("0123456789") != std::string::npos) {
          finding("a cursor that is not decimal digits was accepted");
        }
        const auto& done = entry.at("counts");
        for (const char* name : {"scanned", "copied", "vanished", "skipped", "failed", "bytes",
                                 "retries", "rescanned"}) {
          const auto count = done.find(name);
          if (count != done.end() && !count->is_number_unsigned() &&
              !(count->is_number_integer() && count->get<std::int64_t>() >= 0)) {
            finding("a count that is not a whole number >= 0 was accepted");
          }
        }
      }
      const nlohmann::json written = to_json(*from_json);
      auto again = checkpoint_from_json(written);
      if (!again) finding("an accepted state, written back, is refused");
      if (!same(*again, *from_json)) finding("an accepted state, written back, reads differently");
      if (to_json(*again) != written) finding("to_json is not stable");
    } else if (from_json.error().empty()) {
      finding("a refusal without a reason");
    }
  }

  {
    std::ofstream out(state_path(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  auto loaded = load_checkpoint(state_path());
  if (loaded.has_value() != from_json.has_value()) {
    finding("load_checkpoint and checkpoint_from_json disagree");
  }
  if (loaded && !same(*loaded, *from_json)) finding("load_checkpoint reads something else");
  if (!loaded && loaded.error().find(state_path()) == std::string::npos) {
    finding("load_checkpoint's error does not name the file");
  }
  return 0;
}
