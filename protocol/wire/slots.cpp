#include "protocol/wire/slots.hpp"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

namespace ferry::protocol {
namespace {

// Reads a whole decimal slot number; no sign, no spaces, nothing after it.
bool parse_slot(std::string_view text, std::uint16_t& slot) noexcept {
  unsigned value = 0;
  const auto* const first = text.data();
  const auto* const last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || end != last || text.empty() || value >= slot_count) return false;
  slot = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

boost::system::result<slot_range, std::string> parse_slot_range(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return std::string("invalid slot range \"")
        .append(text)
        .append("\": ")
        .append(why)
        .append(" (expected a-b or a single slot, 0 <= a <= b <= 16383)");
  };
  if (text.empty()) return fail("it is empty");

  const auto dash = text.find('-');
  slot_range range;
  if (dash == std::string_view::npos) {
    if (!parse_slot(text, range.start)) return fail("not a slot number from 0 to 16383");
    range.end = range.start;
    return range;
  }
  if (!parse_slot(text.substr(0, dash), range.start)) {
    return fail("the first slot is not a number from 0 to 16383");
  }
  if (!parse_slot(text.substr(dash + 1), range.end)) {
    return fail("the last slot is not a number from 0 to 16383");
  }
  if (range.start > range.end) return fail("the first slot is after the last");
  return range;
}

slot_set slots_of(const std::vector<slot_range>& ranges) {
  slot_set slots;
  for (const auto& range : ranges) {
    for (std::uint32_t s = range.start; s <= range.end; ++s) slots.set(s);
  }
  return slots;
}

std::vector<slot_range> ranges_of(const slot_set& slots) {
  std::vector<slot_range> ranges;
  for (std::uint32_t s = 0; s < slot_count; ++s) {
    if (!slots.test(s)) continue;
    const auto slot = static_cast<std::uint16_t>(s);
    if (!ranges.empty() && ranges.back().end + 1u == s) {
      ranges.back().end = slot;
    } else {
      ranges.push_back({slot, slot});
    }
  }
  return ranges;
}

std::string slot_text(const slot_set& slots) {
  std::string text;
  for (const auto& range : ranges_of(slots)) {
    if (!text.empty()) text += ',';
    text += range.start == range.end ? fmt::format("{}", range.start)
                                     : fmt::format("{}-{}", range.start, range.end);
  }
  return text;
}

boost::system::result<slot_set, std::string> parse_slot_text(std::string_view text) {
  slot_set slots;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    auto range = parse_slot_range(part);
    // (bitset is constructible from a string too: say which one this is.)
    if (!range) return {boost::system::in_place_error, range.error()};
    for (std::uint32_t s = range->start; s <= range->end; ++s) slots.set(s);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return slots;
}

}  // namespace ferry::protocol
