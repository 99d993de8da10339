#include "tests/faults/judge.hpp"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ferry::testing::faults {
namespace {

/// Standard base64 (what ferry's key_base64 holds); stops at '=' or anything else.
std::string from_base64(const std::string& text) {
  static const auto table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
    }
    return t;
  }();
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const unsigned char c : text) {
    const int value = table[c];
    if (value < 0) break;
    bits = (bits << 6) | static_cast<unsigned>(value);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

std::string first_of(const std::set<std::string>& keys) {
  return keys.empty() ? std::string() : printable(*keys.begin());
}

}  // namespace

std::set<std::string> key_differences::all() const {
  std::set<std::string> every = missing;
  every.insert(extra.begin(), extra.end());
  every.insert(different.begin(), different.end());
  return every;
}

std::string key_differences::summary() const {
  std::string example;
  if (!missing.empty()) {
    example = fmt::format(" (e.g. {} missing)", first_of(missing));
  } else if (!different.empty()) {
    example = fmt::format(" (e.g. {} different)", first_of(different));
  } else if (!extra.empty()) {
    example = fmt::format(" (e.g. {} extra)", first_of(extra));
  }
  return fmt::format("{} missing, {} extra, {} different{}", missing.size(), extra.size(),
                     different.size(), example);
}

key_differences compare(const keyspace& source, const keyspace& target) {
  key_differences found;
  auto s = source.begin();
  auto t = target.begin();
  while (s != source.end() || t != target.end()) {
    if (t == target.end() || (s != source.end() && s->key < t->key)) {
      found.missing.insert((s++)->key);
    } else if (s == source.end() || t->key < s->key) {
      found.extra.insert((t++)->key);
    } else {
      if (!(*s == *t)) found.different.insert(s->key);
      ++s;
      ++t;
    }
  }
  return found;
}

std::set<std::string> listed_keys(const std::vector<std::filesystem::path>& files,
                                  std::size_t& broken_lines) {
  std::set<std::string> keys;
  broken_lines = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (entry.is_discarded() || !entry.contains("key_base64")) {
        ++broken_lines;  // e.g. the last line cut short by a full disk
        continue;
      }
      keys.insert(from_base64(entry["key_base64"].get<std::string>()));
    }
  }
  return keys;
}

std::string unhelpful(const std::string& message, const std::vector<std::string>& places) {
  bool place = false;
  for (const auto& p : places) place = place || message.find(p) != std::string::npos;
  bool step = false;
  for (const char* next : {"--resume", "--repair", "--on-target-loss", "--on-existing",
                           "free space", "choose another path", "--max-retry-time"}) {
    step = step || message.find(next) != std::string::npos;
  }
  if (place && step) return {};
  if (!place && !step) return "names neither the server or file concerned nor what to do next";
  return place ? "does not say what to do next" : "does not name the server or file concerned";
}

std::string tail(const std::string& text, std::size_t lines) {
  std::vector<std::string> all;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (std::size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    out += "    " + all[i] + "\n";
  }
  return out;
}

}  // namespace ferry::testing::faults
