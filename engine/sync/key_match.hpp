#pragma once
// Glob matching as Redis does it for SCAN MATCH and KEYS (stringmatchlen): `*` any bytes, `?` one
// byte, `[abc]`, `[^abc]` and `[a-z]` one byte of a set, `\x` the byte x. Byte-wise and
// case-sensitive. `ferry sync` filters the keys named by events with it, so that a job limited
// by --match re-copies exactly the keys its snapshot's SCAN MATCH copies. Pure.

#include <string_view>

namespace ferry::engine {

/// True when `key` matches the glob `pattern`.
bool glob_match(std::string_view pattern, std::string_view key) noexcept;

}  // namespace ferry::engine
