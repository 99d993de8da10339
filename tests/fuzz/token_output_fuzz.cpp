// Fuzzes how the output of a token command (or a token file) becomes an access token
// (engine/auth: extract_token takes the raw token or the "accessToken"/"access_token"/"token"
// member of the JSON that `az account get-access-token` or the instance metadata service print;
// read_jwt_claims then reads its expiry and object id), and mask_tokens, which hides anything
// token-like in a command's stderr before ferry quotes it.
//
// Besides "no crash, no UB": an extracted token is never empty and never carries the blanks
// around it; no refusal contains anything that looks like a token; and mask_tokens leaves no run
// of 24 token characters behind.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/auth/jwt.hpp"
#include "engine/auth/token_fetch.hpp"

namespace {

using namespace ferry::engine;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "token_output_fuzz: %s\n", what);
  std::abort();
}

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// True when `text` holds a run of 24 or more characters that could be part of a JWT.
bool looks_like_it_holds_a_token(std::string_view text) {
  std::size_t run = 0;
  for (const char c : text) {
    run = token_char(c) ? run + 1 : 0;
    if (run >= 24) return true;
  }
  return false;
}

bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto token = extract_token(text);
  if (token) {
    if (token->empty()) finding("an empty token was extracted");
    const bool raw = token->find_first_of(" \t\r\n") == std::string::npos;
    if (raw && (blank(token->front()) || blank(token->back()))) {
      finding("a raw token keeps blanks around it");
    }
    auto claims = read_jwt_claims(*token);
    if (!claims && looks_like_it_holds_a_token(claims.error())) {
      finding("a refusal of the token quotes something token-like");
    }
  } else if (looks_like_it_holds_a_token(token.error().why)) {
    finding("a refusal of the output quotes something token-like");
  }

  const std::string masked = detail::mask_tokens(text);
  if (looks_like_it_holds_a_token(masked)) finding("mask_tokens left a token-like run");
  if (masked.size() > text.size() + 3) finding("mask_tokens made the text longer");
  return 0;
}
