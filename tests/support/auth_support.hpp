#pragma once
// Helpers for the authentication, token and secrets tests: JWT-shaped access tokens (unsigned:
// Redis only compares them as passwords), token files replaced atomically as a sidecar would,
// ACL users, AUTH counters, and a search for leaked secrets.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// base64url without padding.
std::string base64url(std::string_view bytes);

/// `base64url({"alg":"none","typ":"JWT"}).base64url({"exp":E,"oid":OID,"nonce":N}).sig`: shaped
/// like an Entra ID access token, expiring at `expires` (whole seconds). `nonce` makes tokens of
/// the same second differ.
std::string make_token(std::chrono::system_clock::time_point expires, const std::string& oid,
                       const std::string& nonce);

/// Writes `text` to `file` through a temporary file and a rename, as token sidecars do, so a
/// reader never sees half a token.
void write_file_atomically(const std::filesystem::path& file, const std::string& text);

/// `calls=` of `cmdstat_<command>` in INFO commandstats (0 when the command never ran).
std::uint64_t command_calls(sync_client& client, const std::string& command);

/// Every substring of `secret` of `length` bytes found in `haystack`, for "the secret never
/// appears" checks (a part of a secret is a leak too).
std::vector<std::string> leaked_parts(const std::string& haystack, const std::string& secret,
                                      std::size_t length = 6);

/// The whole contents of every regular file under `dir`, each preceded by its name.
std::string all_files_text(const std::filesystem::path& dir);

}  // namespace ferry::testing
