// Fuzzes the JWT reader (engine/auth/jwt read_jwt_claims) and its base64url decoder.
//
// Besides "no crash, no UB": an accepted expiry is a time a token can have, a refusal says it is
// about the token, and base64url decoding agrees with a re-encoding of what it decoded.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "engine/auth/jwt.hpp"

namespace {

using namespace ferry::engine;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "jwt_fuzz: %s\n", what);
  std::abort();
}

std::string encode_base64url(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int held = 0;
  for (const unsigned char c : bytes) {
    bits = (bits << 8) | c;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out.push_back(alphabet[(bits >> held) & 63]);
    }
  }
  if (held > 0) out.push_back(alphabet[(bits << (6 - held)) & 63]);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto claims = read_jwt_claims(text);
  if (claims) {
    const auto seconds = claims->expires.time_since_epoch().count();
    if (seconds < 0 || seconds > std::int64_t{std::numeric_limits<std::int32_t>::max()} * 64) {
      finding("an expiry out of range was accepted");
    }
  } else if (claims.error().rfind("the token", 0) != 0) {
    finding("a refusal that does not say it is about the token");
  } else {
    // No refusal may hold a run of 24 characters that could be part of a JWT: that would be
    // the token (or a piece of it) quoted back.
    std::size_t run = 0;
    for (const char c : claims.error()) {
      const bool token_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      run = token_char ? run + 1 : 0;
      if (run >= 24) finding("a refusal quotes something token-like");
    }
  }

  // The payload alone, as a token would carry it: whatever is decoded encodes back to the same
  // characters (modulo the two alphabets and padding).
  auto decoded = decode_base64url(text);
  if (decoded) {
    std::string canonical(text);
    while (!canonical.empty() && canonical.back() == '=') canonical.pop_back();
    for (char& c : canonical) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    const std::string back = encode_base64url(*decoded);
    // The last character may carry unused low bits that decoding drops.
    if (back.size() != canonical.size() ||
        back.compare(0, back.size() - (back.empty() ? 0 : 1), canonical, 0,
                     canonical.size() - (canonical.empty() ? 0 : 1)) != 0) {
      finding("base64url decoding does not match re-encoding");
    }
  }
  return 0;
}
