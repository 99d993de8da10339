#include "engine/sync/key_match.hpp"

#include <cstddef>

namespace ferry::engine {

namespace {

/// Matches one pattern element at `p` (not `*`) against byte `c`; advances `p` past it. False
/// when it does not match.
bool match_one(std::string_view pattern, std::size_t& p, char c) noexcept {
  const char first = pattern[p];
  if (first == '?') {
    ++p;
    return true;
  }
  if (first == '\\' && p + 1 < pattern.size()) {
    p += 2;
    return pattern[p - 1] == c;
  }
  if (first != '[') {
    ++p;
    return first == c;
  }
  // A set, as Redis reads it: an unterminated '[' runs to the pattern's end.
  ++p;
  bool negate = false;
  if (p < pattern.size() && pattern[p] == '^') {
    negate = true;
    ++p;
  }
  bool found = false;
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      ++p;
      if (pattern[p] == c) found = true;
      ++p;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-') {
      auto lo = static_cast<unsigned char>(pattern[p]);
      auto hi = static_cast<unsigned char>(pattern[p + 2]);
      if (lo > hi) std::swap(lo, hi);
      const auto u = static_cast<unsigned char>(c);
      if (u >= lo && u <= hi) found = true;
      p += 3;
    } else {
      if (pattern[p] == c) found = true;
      ++p;
    }
  }
  if (p < pattern.size()) ++p;  // the ']'
  return negate ? !found : found;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view key) noexcept {
  // Greedy with backtracking to the last '*': only '*' matches more than one byte, so this
  // finds a match whenever one exists, in O(pattern * key).
  std::size_t p = 0, k = 0;
  std::size_t star_p = std::string_view::npos, star_k = 0;
  while (k < key.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) return true;
      star_p = p;
      star_k = k;
      continue;
    }
    std::size_t next = p;
    if (p < pattern.size() && match_one(pattern, next, key[k])) {
      p = next;
      ++k;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    k = ++star_k;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace ferry::engine
