// The claims ferry reads from an Entra ID access token, and how a token is found in what a token
// file or command gives.

#include "engine/auth/jwt.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ferry::engine {
namespace {

std::string base64url(std::string_view bytes) {
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
      out += alphabet[(bits >> held) & 0x3f];
    }
  }
  if (held > 0) out += alphabet[(bits << (6 - held)) & 0x3f];
  return out;
}

std::string jwt(std::string_view payload) {
  return base64url(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url(payload) + ".c2lnbmF0dXJl";
}

TEST(base64url, decodes_every_length_with_and_without_padding) {
  for (const std::string text :
       {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00x"}) {
    const std::string encoded = base64url(text);
    auto decoded = decode_base64url(encoded);
    ASSERT_TRUE(decoded) << text;
    EXPECT_EQ(*decoded, text);
    std::string padded = encoded;
    while (padded.size() % 4 != 0) padded += '=';
    ASSERT_TRUE(decode_base64url(padded));
    EXPECT_EQ(*decode_base64url(padded), text);
  }
  // The standard alphabet's '+' and '/' are accepted too.
  EXPECT_EQ(*decode_base64url("-_-_"), *decode_base64url("+/+/"));
}

TEST(base64url, refuses_foreign_characters_and_impossible_lengths) {
  EXPECT_FALSE(decode_base64url("ab$d"));
  EXPECT_FALSE(decode_base64url("abcde"));  // 5 characters cannot end a base64 text
  EXPECT_FALSE(decode_base64url("ab cd"));
}

TEST(jwt, reads_exp_and_oid) {
  auto claims = read_jwt_claims(
      jwt(R"({"aud":"https://redis.azure.com","exp":1750000000,"oid":"1b2c3d4e-aaaa","x":[1]})"));
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->expires.time_since_epoch().count(), 1750000000);
  EXPECT_EQ(claims->object_id, "1b2c3d4e-aaaa");
}

TEST(jwt, tolerates_whitespace_fractional_exp_and_a_missing_oid) {
  auto claims = read_jwt_claims("  " + jwt(R"({"exp":1750000000.75})") + "\r\n");
  ASSERT_TRUE(claims) << claims.error();
  EXPECT_EQ(claims->expires.time_since_epoch().count(), 1750000000);
  EXPECT_EQ(claims->object_id, "");
  // A token without a signature part (alg none) is still three parts.
  auto unsigned_token =
      read_jwt_claims(base64url(R"({"alg":"none"})") + "." + base64url(R"({"exp":5})") + ".");
  ASSERT_TRUE(unsigned_token) << unsigned_token.error();
  EXPECT_EQ(unsigned_token->expires.time_since_epoch().count(), 5);
}

TEST(jwt, explains_what_is_wrong_without_quoting_the_token) {
  const std::string secret_part = "SECRETPAYLOAD";
  struct bad_case {
    std::string token;
    std::string expected;
  };
  const bad_case cases[] = {
      {"", "empty"},
      {"just-a-password-" + secret_part, "not a JWT"},
      {"a.b.c.d" + secret_part, "not a JWT"},
      {"aaa.!!" + secret_part + ".sig", "cannot be decoded"},
      {"aaa." + base64url("not json " + secret_part) + ".sig", "not a JSON object"},
      {"aaa." + base64url(R"(["exp",1])") + ".sig", "not a JSON object"},
      {jwt(R"({"oid":"x"})"), "no expiry"},
      {jwt(R"({"exp":"1750000000"})"), "not a number"},
      {jwt(R"({"exp":-5})"), "out of range"},
      {jwt(R"({"exp":1e300})"), "out of range"},
  };
  for (const auto& c : cases) {
    auto claims = read_jwt_claims(c.token);
    ASSERT_FALSE(claims) << c.token;
    EXPECT_NE(claims.error().find(c.expected), std::string::npos) << claims.error();
    EXPECT_EQ(claims.error().find(secret_part), std::string::npos) << claims.error();
  }
}

TEST(extract_token, takes_a_bare_token_or_the_member_of_a_json_object) {
  EXPECT_EQ(*extract_token("  eyJ.abc.def\n"), "eyJ.abc.def");
  // `az account get-access-token` prints this shape.
  EXPECT_EQ(*extract_token(R"({"accessToken": "eyJ.az.cli", "expiresOn": "2025-01-01 10:00:00",
                              "tokenType": "Bearer"})"),
            "eyJ.az.cli");
  // A managed identity endpoint answers with this one.
  EXPECT_EQ(*extract_token(R"({"access_token":"eyJ.mi.token","expires_in":"3599"})"),
            "eyJ.mi.token");
  EXPECT_EQ(*extract_token(R"({"token":"eyJ.plain"})"), "eyJ.plain");
}

TEST(extract_token, explains_what_is_missing) {
  EXPECT_NE(extract_token("").error().why.find("empty"), std::string::npos);
  EXPECT_NE(extract_token(" \n ").error().why.find("empty"), std::string::npos);
  EXPECT_NE(extract_token("two words").error().why.find("more than one word"), std::string::npos);
  EXPECT_NE(extract_token("{broken").error().why.find("not a JSON object"), std::string::npos);
  EXPECT_NE(extract_token(R"({"expiresOn":"x"})").error().why.find("accessToken"),
            std::string::npos);
  EXPECT_NE(extract_token(R"({"accessToken":""})").error().why.find("accessToken"),
            std::string::npos);
}

}  // namespace
}  // namespace ferry::engine
