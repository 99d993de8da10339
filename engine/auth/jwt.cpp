#include "engine/auth/jwt.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace ferry::engine {
namespace {

int sextet(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

token_text decode_base64url(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return token_problem::because("its length is impossible for base64url");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int held = 0;
  for (const char c : text) {
    const int value = sextet(c);
    if (value < 0) return token_problem::because("it holds a character that is not base64url");
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<char>((bits >> held) & 0xff));
    }
  }
  return out;
}

token_text extract_token(std::string_view text) {
  text = trim(text);
  if (text.empty()) return token_problem::because("it is empty");
  if (text.front() != '{') {
    if (text.find_first_of(" \t\r\n") != std::string_view::npos) {
      return token_problem::because(
          "it holds more than one word (a token is one line without spaces)");
    }
    return std::string(text);
  }
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object())
    return token_problem::because("it starts with '{' but is not a JSON object");
  for (const char* name : {"accessToken", "access_token", "token"}) {
    if (const auto member = json.find(name); member != json.end() && member->is_string()) {
      std::string token = member->get<std::string>();
      if (token.empty()) break;
      return token;
    }
  }
  return token_problem::because(
      "it is a JSON object without an \"accessToken\", \"access_token\" or \"token\" member");
}

boost::system::result<jwt_claims, std::string> read_jwt_claims(std::string_view token) {
  token = trim(token);
  if (token.empty()) return std::string("the token is empty");
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::string("the token is not a JWT (expected three base64url parts separated by dots)");
  }
  auto payload = decode_base64url(token.substr(first + 1, second - first - 1));
  if (!payload) return "the token's payload cannot be decoded: " + payload.error().why;
  const auto json = nlohmann::json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::string("the token's payload is not a JSON object");
  const auto exp = json.find("exp");
  if (exp == json.end()) return std::string("the token has no expiry (no \"exp\" claim)");
  if (!exp->is_number()) return std::string("the token's \"exp\" claim is not a number");
  const double seconds = exp->get<double>();
  if (!std::isfinite(seconds) || seconds < 0 ||
      seconds > static_cast<double>(std::numeric_limits<std::int32_t>::max()) * 64) {
    return std::string("the token's \"exp\" claim is out of range");
  }
  jwt_claims claims;
  claims.expires = std::chrono::sys_seconds{
      std::chrono::seconds{static_cast<std::int64_t>(std::floor(seconds))}};
  if (const auto oid = json.find("oid"); oid != json.end() && oid->is_string()) {
    claims.object_id = oid->get<std::string>();
  }
  return claims;
}

}  // namespace ferry::engine
