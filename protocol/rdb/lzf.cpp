#include "protocol/rdb/lzf.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "protocol/rdb/detail/input.hpp"
#include "protocol/rdb/source.hpp"

namespace ferry::protocol::rdb {
namespace detail {
namespace {

constexpr std::size_t max_distance = 8192;  // ((31 << 8) + 255) + 1
constexpr std::size_t max_step = 264;       // a back reference of 7 + 255 + 2 bytes
constexpr std::size_t window_size = 64 * 1024 + max_distance;

}  // namespace

lzf_stream::lzf_stream(input& in, std::uint64_t compressed, std::uint64_t decompressed)
    : in_(in), compressed_left_(compressed), left_to_produce_(decompressed) {
  window_.resize(
      static_cast<std::size_t>(std::min<std::uint64_t>(window_size, decompressed + max_step)));
}

std::size_t lzf_stream::read(char* out, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    if (read_ == write_) {
      if (left_to_produce_ == 0) break;
      decode_some();
    }
    const std::size_t n = std::min(size - done, write_ - read_);
    std::memcpy(out + done, window_.data() + read_, n);
    read_ += n;
    done += n;
  }
  return done;
}

void lzf_stream::decode_some() {
  if (write_ + max_step > window_.size()) {
    // Everything was served: keep only the window back references may reach.
    const std::size_t keep = std::min(write_, max_distance);
    std::memmove(window_.data(), window_.data() + write_ - keep, keep);
    write_ = read_ = keep;
  }
  auto corrupt = [&](std::string_view what) {
    fail(errc::bad_encoding, in_.offset(),
         fmt::format("corrupt LZF data at byte {}: {} (after {} of {} decompressed bytes)",
                     in_.offset(), what, produced_, produced_ + left_to_produce_));
  };
  auto next_byte = [&]() -> std::uint8_t {
    if (compressed_left_ == 0) corrupt("the compressed bytes end early");
    --compressed_left_;
    return in_.byte();
  };
  while (left_to_produce_ > 0 && write_ + max_step <= window_.size()) {
    const unsigned ctrl = next_byte();
    if (ctrl < 32) {
      const std::size_t run = ctrl + 1;
      if (run > compressed_left_) corrupt("a literal run passes the end of the compressed bytes");
      if (run > left_to_produce_) corrupt("a literal run passes the decompressed length");
      in_.read(window_.data() + write_, run);
      compressed_left_ -= run;
      write_ += run;
      produced_ += run;
      left_to_produce_ -= run;
    } else {
      std::size_t len = ctrl >> 5;
      if (len == 7) len += next_byte();
      const std::size_t distance = ((ctrl & 0x1f) << 8) + next_byte() + 1;
      len += 2;
      if (distance > produced_) corrupt("a back reference points before the start");
      if (len > left_to_produce_) corrupt("a back reference passes the decompressed length");
      const char* from = window_.data() + write_ - distance;
      char* to = window_.data() + write_;
      for (std::size_t i = 0; i < len; ++i) to[i] = from[i];  // may overlap: byte by byte
      write_ += len;
      produced_ += len;
      left_to_produce_ -= len;
    }
  }
  if (left_to_produce_ == 0 && compressed_left_ != 0) {
    corrupt(fmt::format("{} compressed bytes are left after the decompressed length",
                        compressed_left_));
  }
}

}  // namespace detail

result<std::string> lzf_decompress(std::string_view compressed, std::size_t decompressed_size) {
  // A 3-byte back reference yields at most 264 bytes: refuse sizes no LZF block can reach
  // before allocating them (a corrupt header must not allocate gigabytes).
  if (decompressed_size > compressed.size() * 88 + 32) {
    return error{errc::bad_encoding, 0,
                 fmt::format("LZF block of {} bytes cannot decompress to {} bytes",
                             compressed.size(), decompressed_size)};
  }
  try {
    memory_source source(compressed);
    detail::input in(source);
    detail::lzf_stream stream(in, compressed.size(), decompressed_size);
    std::string out(decompressed_size, '\0');
    const std::size_t n = stream.read(out.data(), out.size());
    if (n != decompressed_size) {
      return error{errc::bad_encoding, n, "LZF data produced fewer bytes than announced"};
    }
    return out;
  } catch (const detail::parse_error& e) {
    return e.get();
  }
}

}  // namespace ferry::protocol::rdb
