#pragma once
// The claims ferry needs from a Microsoft Entra ID access token (a JWT): when it expires and
// whose it is. Pure: no I/O, no signature check (the server checks the token; ferry only needs
// to know when to fetch the next one).

#include <boost/system/result.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

namespace ferry::engine {

/// Why a token could not be had: a sentence that never quotes the token.
/// (Not constructible from a string, so that a result of text or problem is never ambiguous:
/// make one with `token_problem::because`.)
struct token_problem {
  token_problem() = default;
  /// A problem saying `why`.
  static token_problem because(std::string why) {
    token_problem problem;
    problem.why = std::move(why);
    return problem;
  }
  /// E.g. "the token is not a JWT (...)".
  std::string why;
};

/// A token's text, or why there is none.
using token_text = boost::system::result<std::string, token_problem>;

/// What ferry reads from a token.
struct jwt_claims {
  /// `exp`: when the token stops being accepted (fractions of a second are dropped).
  std::chrono::sys_seconds expires;
  /// `oid`: the object id of the identity, which Azure Managed Redis uses as the ACL user name;
  /// empty when the token has none.
  std::string object_id;
};

/// Decodes the payload of a JWS compact token (`header.payload.signature`, base64url without
/// padding; padding is tolerated) and reads `exp` (required, a number of seconds since the epoch)
/// and `oid` (optional string). Surrounding ASCII whitespace is ignored. The error says what is
/// wrong without quoting any part of the token.
boost::system::result<jwt_claims, std::string> read_jwt_claims(std::string_view token);

/// The token in what a token file or command holds: the text itself (trimmed), or, when the text
/// is a JSON object (the output of `az account get-access-token`, or of a managed identity
/// endpoint), its "accessToken", "access_token" or "token" member.
token_text extract_token(std::string_view text);

/// Decodes base64url (RFC 4648 section 5; also accepts '+' and '/', and '=' padding at the end).
/// Nothing on a character outside the alphabet or an impossible length.
token_text decode_base64url(std::string_view text);

}  // namespace ferry::engine
