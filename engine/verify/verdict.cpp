#include "engine/verify/verdict.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "engine/runtime/key_text.hpp"

namespace ferry::engine {

std::string_view name_of(difference kind) noexcept {
  switch (kind) {
    case difference::none:
      return "equal";
    case difference::missing:
      return "missing";
    case difference::extra:
      return "extra";
    case difference::type:
      return "type";
    case difference::value:
      return "value";
    case difference::expiry:
      return "expiry";
    case difference::changed:
      return "changed";
  }
  return "unknown";
}

bool expiry_differs(std::int64_t a, std::int64_t b, std::int64_t tolerance_ms) noexcept {
  if ((a < 0) != (b < 0)) return true;
  if (a < 0) return false;
  return (a > b ? a - b : b - a) > tolerance_ms;
}

bool state_moved(const key_state& before, const key_state& now, std::int64_t slack_ms) noexcept {
  return before.type != now.type || before.digest != now.digest || before.length != now.length ||
         expiry_differs(before.expire_at_ms, now.expire_at_ms, slack_ms);
}

std::int64_t expiry_from_reply(std::int64_t reply, bool absolute, std::int64_t now_ms) noexcept {
  if (reply == -1 || reply == -2) return reply;
  if (reply < 0) return -1;
  return absolute ? reply : now_ms + reply;
}

std::string_view length_unit(std::string_view type) noexcept {
  if (type == "hash") return "fields";
  if (type == "set" || type == "zset") return "members";
  if (type == "list") return "elements";
  if (type == "stream") return "entries";
  if (type == "string") return "bytes";
  return "items";
}

std::size_t estimated_bytes(std::string_view type, std::int64_t length) noexcept {
  if (length <= 0) return 0;
  const auto n = static_cast<std::size_t>(length);
  if (type == "string") return n;
  if (type == "list" || type == "hash" || type == "set" || type == "zset" || type == "stream") {
    return 64 * n;
  }
  return 0;
}

std::string utc_time(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  return fmt::format("{}.{:03}Z", text, unix_ms % 1000);
}

std::string describe(const key_state& state) {
  if (!state.exists()) return "absent";
  std::string text = state.type;
  if (state.length >= 0) {
    std::string unit(length_unit(state.type));
    if (state.length == 1) unit = unit == "entries" ? "entry" : unit.substr(0, unit.size() - 1);
    text += fmt::format(", {} {}", state.length, unit);
  }
  text += state.expire_at_ms < 0 ? ", no expiry"
                                 : fmt::format(", expires at {}", utc_time(state.expire_at_ms));
  return text;
}

namespace {

/// SHA-1 fetched once per thread, with a context to reuse: OpenSSL 3's one-shot SHA1() looks the
/// algorithm up under a lock on every call (6 % of a cross-version verify's CPU, in perf).
class sha1_engine {
 public:
  sha1_engine() : md_(EVP_MD_fetch(nullptr, "SHA1", nullptr)), ctx_(EVP_MD_CTX_new()) {}
  ~sha1_engine() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  sha1_engine(const sha1_engine&) = delete;
  sha1_engine& operator=(const sha1_engine&) = delete;

  /// Writes the digest of `data` into `hash`; false when OpenSSL failed (the caller falls back).
  bool digest(std::string_view data, unsigned char* hash) {
    unsigned int length = 0;
    return md_ != nullptr && ctx_ != nullptr && EVP_DigestInit_ex(ctx_, md_, nullptr) == 1 &&
           EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1 &&
           EVP_DigestFinal_ex(ctx_, hash, &length) == 1 && length == SHA_DIGEST_LENGTH;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::string sha1_hex(std::string_view data) {
  thread_local sha1_engine engine;
  unsigned char hash[SHA_DIGEST_LENGTH];
  if (!engine.digest(data, hash)) {
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), hash);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA_DIGEST_LENGTH);
  for (unsigned char c : hash) {
    out += hex[c >> 4];
    out += hex[c & 0xf];
  }
  return out;
}

namespace {

/// A difference whose source moved since the copy says nothing about the copy.
void mark_changed(verdict& v, bool value_moved, bool expiry_moved) {
  if (!value_moved && !expiry_moved) return;
  v.kind = difference::changed;
  v.detail = value_moved ? "the source's value changed after ferry copied the key"
                         : "the source's expiry changed after ferry copied the key";
}

}  // namespace

void judge_against_copy(verdict& v, std::string_view copied_digest,
                        std::int64_t copied_expire_at_ms, std::int64_t tolerance_ms) {
  if (v.kind != difference::value && v.kind != difference::type && v.kind != difference::expiry) {
    return;
  }
  const bool value_moved = !v.source.digest.empty() && v.source.digest != copied_digest;
  mark_changed(v, value_moved,
               expiry_differs(v.source.expire_at_ms, copied_expire_at_ms, tolerance_ms));
}

void judge_against_copied_value(verdict& v, std::string_view source_value_digest,
                                std::string_view copied_value_digest,
                                std::int64_t copied_expire_at_ms, std::int64_t tolerance_ms) {
  if (v.kind != difference::value && v.kind != difference::type && v.kind != difference::expiry) {
    return;
  }
  mark_changed(v, source_value_digest != copied_value_digest,
               expiry_differs(v.source.expire_at_ms, copied_expire_at_ms, tolerance_ms));
}

std::string dump_digest(std::string_view payload) {
  constexpr std::size_t trailer = 10;  // 2-byte RDB version + 8-byte CRC64
  return sha1_hex(payload.substr(0, payload.size() > trailer ? payload.size() - trailer : 0));
}

std::string diff_line(const verdict& v, std::optional<bool> repaired,
                      const std::string& repair_error) {
  // ordered_json keeps the fields in the documented order, which people read more easily.
  nlohmann::ordered_json json{{"kind", name_of(v.kind)},
                              {"key", printable_key(v.key.view())},
                              {"key_base64", base64(v.key.view())},
                              {"source", describe(v.source)},
                              {"target", describe(v.target)}};
  // Details quote field names and members through printable_key: plain ASCII, valid JSON.
  if (!v.detail.empty()) json["detail"] = v.detail;
  json["rounds"] = v.rounds;
  if (repaired) {
    json["repaired"] = *repaired;
    if (!repair_error.empty()) json["repair_error"] = printable_key(repair_error);
  }
  // Everything above is ASCII; `replace` guards against odd bytes in a module's type name.
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

bool same_score(std::string_view a, std::string_view b) noexcept {
  if (a == b) return true;
  // Scores are printed with up to 17 significant digits, which round-trip a double exactly;
  // two servers may still spell one number differently ("1e+20" and "100000000000000000000").
  const std::string left(a), right(b);
  char* left_end = nullptr;
  char* right_end = nullptr;
  const double x = std::strtod(left.c_str(), &left_end);
  const double y = std::strtod(right.c_str(), &right_end);
  if (left_end == left.c_str() || right_end == right.c_str()) return false;
  return x == y;
}

std::string short_text(std::string_view bytes, std::size_t limit) {
  if (bytes.size() <= limit) return printable_key(bytes);
  return printable_key(bytes.substr(0, limit)) + "...";
}

}  // namespace ferry::engine
