// Fuzzes the RESP2 reader (protocol/wire/resp_reader) the way a connection uses it: bytes from
// the peer in pieces of any size, under limits that are small enough to be hit.
//
// The first bytes of the input choose the limits and how the rest is cut; the rest is the
// stream. It is parsed twice, once fed whole and once in random-sized pieces, and the two runs
// must agree reply for reply and end in the same state (the same error, or the same number of
// bytes left over): where the pieces end must never change what the reader returns.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire/errors.hpp"
#include "protocol/wire/resp_reader.hpp"

namespace {

using ferry::protocol::reader_limits;
using ferry::protocol::reply;
using ferry::protocol::resp_reader;

// What one run saw: every reply, then how it ended.
struct outcome {
  std::vector<reply> replies;
  bool failed = false;
  boost::system::error_code error;
  std::size_t left_over = 0;
};

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "resp_reader_fuzz: %s\n", what);
  std::abort();
}

// A reply the limits should have refused.
bool within(const reply& r, const reader_limits& limits) {
  if (r.str.size() > limits.max_bulk_bytes) return false;
  if (r.elements.size() > limits.max_array_elements) return false;
  for (const auto& element : r.elements) {
    if (!within(element, limits)) return false;
  }
  return true;
}

// Takes every complete reply out of `reader` into `out`; false once the reader failed.
bool drain(resp_reader& reader, outcome& out) {
  for (;;) {
    auto next = reader.next();
    if (!next) {
      out.failed = true;
      out.error = next.error();
      if (!reader.failed()) finding("next() returned an error but failed() is false");
      if (reader.error_message().empty()) finding("an error without a message");
      // Sticky: the same error on every later call.
      auto again = reader.next();
      if (again || again.error() != out.error) finding("the error is not sticky");
      return false;
    }
    if (!next->has_value()) return true;
    out.replies.push_back(std::move(**next));
  }
}

outcome parse_whole(std::string_view stream, reader_limits limits) {
  outcome out;
  resp_reader reader(limits);
  reader.feed(stream);
  if (drain(reader, out)) out.left_over = reader.buffered();
  return out;
}

outcome parse_in_pieces(std::string_view stream, reader_limits limits, FuzzedDataProvider& cuts) {
  outcome out;
  resp_reader reader(limits);
  while (!stream.empty()) {
    // Pieces of 1..64 bytes, or now and then a large one; once the choices run out, the rest.
    std::size_t n = stream.size();
    if (cuts.remaining_bytes() > 0) {
      const auto choice = cuts.ConsumeIntegral<std::uint8_t>();
      n = choice < 192 ? std::size_t{1} + choice % 64 : std::size_t{1} + choice * 17u;
    }
    n = std::min(n, stream.size());
    reader.feed(stream.substr(0, n));
    stream.remove_prefix(n);
    if (!drain(reader, out)) return out;
  }
  out.left_over = reader.buffered();
  // A moved-from reader must carry on where the original stood (connections move readers).
  resp_reader moved(std::move(reader));
  if (!drain(moved, out) || moved.buffered() != out.left_over) {
    finding("a moved reader does not continue where the original stood");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  reader_limits limits;
  if (input.ConsumeBool()) {
    // Small limits, so that "over the limit" is reached from every state.
    limits.max_bulk_bytes = input.ConsumeIntegralInRange<std::size_t>(0, 80);
    limits.max_array_elements = input.ConsumeIntegralInRange<std::size_t>(0, 12);
  }
  const auto cut_bytes = input.ConsumeIntegralInRange<std::size_t>(0, 64);
  const std::string cut_choices = input.ConsumeBytesAsString(cut_bytes);
  const std::string stream = input.ConsumeRemainingBytesAsString();

  const outcome whole = parse_whole(stream, limits);
  FuzzedDataProvider cuts(reinterpret_cast<const std::uint8_t*>(cut_choices.data()),
                          cut_choices.size());
  const outcome pieces = parse_in_pieces(stream, limits, cuts);

  if (whole.replies != pieces.replies) finding("fed whole and in pieces, the replies differ");
  if (whole.failed != pieces.failed) finding("fed whole and in pieces, only one run fails");
  // A header that is both malformed and over a limit ("$6000000u\r\n" under a small limit) is
  // refused as too large when its first digits arrive alone, and as malformed when the whole
  // line is there: either is right. Any other difference is not.
  const auto mixed = [](const boost::system::error_code& a, const boost::system::error_code& b) {
    return a == ferry::protocol::errc::reply_too_large &&
           b == ferry::protocol::errc::protocol_violation;
  };
  if (whole.error != pieces.error && !mixed(whole.error, pieces.error) &&
      !mixed(pieces.error, whole.error)) {
    finding("fed whole and in pieces, the reader fails with different errors");
  }
  if (!whole.failed && whole.left_over != pieces.left_over) {
    finding("fed whole and in pieces, a different number of bytes is left over");
  }
  if (!whole.failed && whole.left_over > stream.size()) finding("more bytes left than fed");
  for (const auto& r : whole.replies) {
    if (!within(r, limits)) finding("a reply over the limits was returned");
  }
  return 0;
}
