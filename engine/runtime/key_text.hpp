#pragma once
// Binary-safe renderings of key names for messages and JSON files.

#include <string>
#include <string_view>

namespace ferry::engine {

/// Printable ASCII kept, `\` and `"` escaped, every other byte as \xHH (like redis-cli). The
/// result is plain ASCII, so it is a valid JSON string once quoted.
std::string printable_key(std::string_view key);

/// Standard base64 (RFC 4648, with padding): the exact bytes, for tools that read the files.
std::string base64(std::string_view data);

/// Decodes standard base64; nothing on malformed input.
bool decode_base64(std::string_view text, std::string& out);

}  // namespace ferry::engine
