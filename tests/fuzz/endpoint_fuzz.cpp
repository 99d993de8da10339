// Fuzzes the text a user types for a job: Redis URLs (protocol/wire/endpoint parse_endpoint) and
// slot ranges and sets (protocol/wire/slots parse_slot_range, parse_slot_text).
//
// Besides "no crash, no UB", what is accepted must mean one thing: an endpoint written back as a
// URL parses to the same endpoint, redacted() never shows the password, and a slot set written
// back with slot_text() parses to the same set.

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/wire/endpoint.hpp"
#include "protocol/wire/slots.hpp"

namespace {

using namespace ferry::protocol;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "endpoint_fuzz: %s\n", what);
  std::abort();
}

std::string encode(std::string_view text, std::string_view keep = {}) {
  std::string out;
  for (const char c : text) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' ||
                       keep.find(c) != std::string_view::npos;
    if (plain) {
      out.push_back(c);
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

// The endpoint as a URL with every field spelled out (the password too).
std::string url_of(const endpoint& e) {
  std::string out = e.tls ? "rediss://" : "redis://";
  if (!e.user.empty() || !e.password.empty()) {
    out += encode(e.user);
    if (!e.password.empty()) out += ":" + encode(e.password);
    out += "@";
  }
  out += e.host.find(':') != std::string::npos ? "[" + encode(e.host, ":") + "]" : encode(e.host);
  return out + fmt::format(":{}/{}", e.port, e.db);
}

void check_endpoint(std::string_view text) {
  auto parsed = parse_endpoint(text);
  if (!parsed) {
    if (parsed.error().rfind("invalid Redis URL: ", 0) != 0) {
      finding("an error that does not say it is about the URL");
    }
    return;
  }
  const endpoint& e = *parsed;
  if (e.host.empty()) finding("an endpoint without a host");
  if (e.port == 0) finding("an endpoint with port 0");
  if (e.db < 0) finding("a negative database");
  auto again = parse_endpoint(url_of(e));
  if (!again) finding("an accepted endpoint, written back as a URL, is refused");
  if (!(*again == e)) finding("an accepted endpoint, written back as a URL, parses differently");
  const std::string shown = e.redacted();
  auto redacted = parse_endpoint(shown);
  if (!redacted) finding("redacted() is not a valid URL");
  if (!e.password.empty() && redacted->password != "***") {
    finding("redacted() does not replace the password");
  }
  if (redacted->host != e.host || redacted->port != e.port || redacted->user != e.user ||
      redacted->db != e.db || redacted->tls != e.tls) {
    finding("redacted() changes something other than the password");
  }
}

void check_slots(std::string_view text) {
  if (auto range = parse_slot_range(text)) {
    if (range->start > range->end || range->end >= slot_count) finding("a bad slot range");
    const std::string back = range->start == range->end
                                 ? std::to_string(range->start)
                                 : fmt::format("{}-{}", range->start, range->end);
    auto again = parse_slot_range(back);
    if (!again || !(*again == *range)) finding("a slot range does not survive being written back");
  }
  if (auto set = parse_slot_text(text)) {
    const std::string back = slot_text(*set);
    auto again = parse_slot_text(back);
    if (!again || *again != *set) finding("a slot set does not survive slot_text()");
    if (slots_of(ranges_of(*set)) != *set) finding("ranges_of() and slots_of() disagree");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_endpoint(text);
  check_slots(text);
  return 0;
}
