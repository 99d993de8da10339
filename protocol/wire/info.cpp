#include "protocol/wire/info.hpp"

#include <charconv>
#include <cstdlib>
#include <string>

namespace ferry::protocol {

namespace {

bool read_number(std::string_view text, std::uint64_t& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

/// Calls `on_line` with each line of `info`, without its line end.
template <class F>
void for_each_line(std::string_view info, F on_line) {
  std::size_t at = 0;
  while (at < info.size()) {
    std::size_t end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    on_line(line);
  }
}

/// Calls `on_pair(key, value)` for each `key=value` of a comma-separated list.
template <class F>
void for_each_pair(std::string_view fields, F on_pair) {
  while (!fields.empty()) {
    const auto comma = fields.find(',');
    const std::string_view field = fields.substr(0, comma);
    fields = comma == std::string_view::npos ? std::string_view{} : fields.substr(comma + 1);
    const auto eq = field.find('=');
    if (eq != std::string_view::npos) on_pair(field.substr(0, eq), field.substr(eq + 1));
  }
}

}  // namespace

std::optional<std::uint64_t> info_unsigned(std::string_view info, std::string_view name) {
  const auto text = info_field(info, name);
  std::uint64_t value = 0;
  if (!text || !read_number(*text, value)) return std::nullopt;
  return value;
}

std::optional<double> info_number(std::string_view info, std::string_view name) {
  const auto text = info_field(info, name);
  if (!text || text->empty()) return std::nullopt;
  // strtod needs a terminated string; INFO numbers are short.
  const std::string copy(*text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

std::vector<command_stat> parse_commandstats(std::string_view info) {
  constexpr std::string_view prefix = "cmdstat_";
  std::vector<command_stat> stats;
  for_each_line(info, [&](std::string_view line) {
    if (line.substr(0, prefix.size()) != prefix) return;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == prefix.size()) return;
    command_stat stat;
    stat.name.assign(line.substr(prefix.size(), colon - prefix.size()));
    for_each_pair(line.substr(colon + 1), [&](std::string_view key, std::string_view value) {
      std::uint64_t n = 0;
      if (!read_number(value, n)) return;
      if (key == "calls") {
        stat.calls = n;
      } else if (key == "usec") {
        stat.usec = n;
      } else if (key == "rejected_calls") {
        stat.rejected_calls = n;
      } else if (key == "failed_calls") {
        stat.failed_calls = n;
      }
    });
    stats.push_back(std::move(stat));
  });
  return stats;
}

std::vector<module_entry> parse_modules(std::string_view info) {
  constexpr std::string_view prefix = "module:";
  std::vector<module_entry> modules;
  for_each_line(info, [&](std::string_view line) {
    if (line.substr(0, prefix.size()) != prefix) return;
    module_entry entry;
    for_each_pair(line.substr(prefix.size()), [&](std::string_view key, std::string_view value) {
      if (key == "name") {
        entry.name.assign(value);
      } else if (key == "ver") {
        read_number(value, entry.version);
      }
    });
    if (!entry.name.empty()) modules.push_back(std::move(entry));
  });
  return modules;
}

std::optional<std::string_view> info_field(std::string_view info, std::string_view name) {
  std::size_t at = 0;
  while (at < info.size()) {
    std::size_t end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      return line.substr(name.size() + 1);
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::string_view info_text(std::string_view info, std::string_view name,
                           std::string_view fallback) {
  return info_field(info, name).value_or(fallback);
}

std::vector<keyspace_entry> parse_keyspace(std::string_view info) {
  std::vector<keyspace_entry> entries;
  std::size_t at = 0;
  while (at < info.size()) {
    std::size_t end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 2) != "db") continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::uint64_t db = 0;
    if (!read_number(line.substr(2, colon - 2), db) || db > 1'000'000) continue;
    keyspace_entry entry;
    entry.db = static_cast<int>(db);
    bool keys_seen = false;
    std::string_view fields = line.substr(colon + 1);
    while (!fields.empty()) {
      const auto comma = fields.find(',');
      const std::string_view field = fields.substr(0, comma);
      fields = comma == std::string_view::npos ? std::string_view{} : fields.substr(comma + 1);
      const auto eq = field.find('=');
      if (eq == std::string_view::npos) continue;
      const std::string_view key = field.substr(0, eq);
      std::uint64_t value = 0;
      if (!read_number(field.substr(eq + 1), value)) continue;
      if (key == "keys") {
        entry.keys = value;
        keys_seen = true;
      } else if (key == "expires") {
        entry.expires = value;
      } else if (key == "avg_ttl") {
        entry.avg_ttl_ms = value;
      }
    }
    if (keys_seen) entries.push_back(entry);
  }
  return entries;
}

server_version parse_server_version(std::string_view text) {
  server_version version;
  const char* end = text.data() + text.size();
  int major = 0;
  auto [after_major, ec] = std::from_chars(text.data(), end, major);
  if (ec != std::errc{}) return {};
  version.major = major;
  if (after_major != end && *after_major == '.') {
    std::from_chars(after_major + 1, end, version.minor);
  }
  return version;
}

}  // namespace ferry::protocol
