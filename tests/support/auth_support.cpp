#include "tests/support/auth_support.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "tests/support/redis_server.hpp"

namespace ferry::testing {

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

std::string make_token(std::chrono::system_clock::time_point expires, const std::string& oid,
                       const std::string& nonce) {
  const auto exp =
      std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count();
  const std::string header = R"({"alg":"none","typ":"JWT"})";
  const std::string payload = fmt::format(
      R"({{"aud":"https://redis.azure.com","exp":{},"oid":"{}","nonce":"{}"}})", exp, oid, nonce);
  return base64url(header) + "." + base64url(payload) + "." + base64url("signature-" + nonce);
}

void write_file_atomically(const std::filesystem::path& file, const std::string& text) {
  const auto temp = file.string() + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc | std::ios::binary);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + temp);
  }
  std::filesystem::rename(temp, file);
}

std::uint64_t command_calls(sync_client& client, const std::string& command) {
  const std::string stats = client.checked({"INFO", "commandstats"}).str;
  const std::string field = info_field(stats, "cmdstat_" + command);
  const auto at = field.find("calls=");
  if (at == std::string::npos) return 0;
  return std::stoull(field.substr(at + 6));
}

std::vector<std::string> leaked_parts(const std::string& haystack, const std::string& secret,
                                      std::size_t length) {
  std::vector<std::string> found;
  if (secret.size() < length) {
    if (!secret.empty() && haystack.find(secret) != std::string::npos) found.push_back(secret);
    return found;
  }
  for (std::size_t i = 0; i + length <= secret.size(); ++i) {
    const std::string part = secret.substr(i, length);
    if (haystack.find(part) != std::string::npos) found.push_back(part);
  }
  return found;
}

std::string all_files_text(const std::filesystem::path& dir) {
  std::string text;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    text += "=== " + entry.path().string() + "\n";
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    text += "\n";
  }
  return text;
}

}  // namespace ferry::testing
