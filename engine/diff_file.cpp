#include "engine/diff_file.hpp"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/key_text.hpp"

namespace ferry::engine {

boost::system::result<std::unique_ptr<diff_file>, std::string> diff_file::open(
    const std::string& path) {
  std::ofstream out;
  if (!path.empty()) {
    out.open(path, std::ios::out | std::ios::trunc);
    if (!out) return fmt::format("cannot write the diff file '{}': {}", path, std::strerror(errno));
  }
  return std::unique_ptr<diff_file>(new diff_file(std::move(out)));
}

std::string diff_file::line(const verdict& v, std::optional<bool> repaired,
                            const std::string& repair_error) {
  // ordered_json keeps the fields in the documented order, which people read more easily.
  nlohmann::ordered_json json{{"kind", name_of(v.kind)},
                              {"key", printable_key(v.key.view())},
                              {"key_base64", base64(v.key.view())},
                              {"source", describe(v.source)},
                              {"target", describe(v.target)}};
  // Details quote field names and members through printable_key: plain ASCII, valid JSON.
  if (!v.detail.empty()) json["detail"] = v.detail;
  json["rounds"] = v.rounds;
  if (repaired) {
    json["repaired"] = *repaired;
    if (!repair_error.empty()) json["repair_error"] = printable_key(repair_error);
  }
  // Everything above is ASCII; `replace` guards against odd bytes in a module's type name.
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void diff_file::record(const verdict& v, std::optional<bool> repaired,
                       const std::string& repair_error) {
  const std::string text = out_.is_open() ? line(v, repaired, repair_error) : std::string{};
  std::lock_guard lock(mutex_);
  ++recorded_;
  if (!out_.is_open()) return;
  out_ << text << '\n';
  out_.flush();
}

std::uint64_t diff_file::recorded() const {
  std::lock_guard lock(mutex_);
  return recorded_;
}

}  // namespace ferry::engine
