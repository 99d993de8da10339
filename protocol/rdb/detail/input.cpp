#include "protocol/rdb/detail/input.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <exception>

#include "protocol/rdb/crc64.hpp"

namespace ferry::protocol::rdb::detail {

input::input(byte_source& source, std::uint64_t base_offset, std::size_t buffer_size)
    : source_(source),
      buffer_(std::max<std::size_t>(buffer_size, 16)),
      buffer_offset_(base_offset) {}

bool input::fill() {
  fold_checksum();
  buffer_offset_ += end_;
  pos_ = end_ = crc_pos_ = 0;
  std::size_t n = 0;
  try {
    n = source_.read(buffer_.data(), buffer_.size());
  } catch (const std::exception& e) {
    fail(errc::io_failed, buffer_offset_,
         fmt::format("reading the input failed at byte {}: {}", buffer_offset_, e.what()));
  }
  end_ = std::min(n, buffer_.size());
  return end_ > 0;
}

void input::fold_checksum() noexcept {
  if (pos_ > crc_pos_) {
    crc_ = crc64(crc_, buffer_.data() + crc_pos_, pos_ - crc_pos_);
    crc_pos_ = pos_;
  }
}

std::uint64_t input::checksum() {
  fold_checksum();
  return crc_;
}

bool input::at_end() {
  if (replay_pos_ < replay_.size()) return false;
  return pos_ == end_ && !fill();
}

void input::replay(std::string bytes, std::uint64_t offset) {
  if (replay_pos_ < replay_.size()) {
    // Still inside an earlier replay: the new bytes are a prefix of what is left of it.
    bytes.append(replay_, replay_pos_, std::string::npos);
  }
  replay_ = std::move(bytes);
  replay_pos_ = 0;
  replay_offset_ = offset;
}

void input::read(void* out, std::size_t size) {
  char* dst = static_cast<char*>(out);
  std::uint64_t left = size;
  while (left > 0) {
    const char* src;
    std::size_t avail;
    const bool from_replay = replay_pos_ < replay_.size();
    if (from_replay) {
      src = replay_.data() + replay_pos_;
      avail = replay_.size() - replay_pos_;
    } else {
      if (pos_ == end_ && !fill()) {
        fail(errc::truncated, offset(),
             fmt::format("the input ends at byte {} in the middle of a record (the file or "
                         "payload is truncated)",
                         offset()));
      }
      src = buffer_.data() + pos_;
      avail = end_ - pos_;
    }
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, left));
    bool overflow = false;
    if (capture_ != nullptr) {
      const std::size_t room =
          capture_->size() < capture_limit_ ? capture_limit_ - capture_->size() : 0;
      if (n > room) {
        n = room;
        overflow = true;
      }
      if (capture_->size() + n > capture_->capacity()) {
        // Grow geometrically but never past the limit: a payload that reaches the limit then
        // costs the limit (and half of it while growing), not the 2-3x of unbounded doubling.
        capture_->reserve(
            std::min(capture_limit_, std::max(capture_->size() + n, 2 * capture_->capacity())));
      }
      capture_->append(src, n);
    }
    if (dst != nullptr) {
      std::memcpy(dst, src, n);
      dst += n;
    }
    if (from_replay) {
      replay_pos_ += n;
      if (replay_pos_ == replay_.size()) {
        replay_.clear();
        replay_.shrink_to_fit();
        replay_pos_ = 0;
      }
    } else {
      pos_ += n;
    }
    left -= n;
    if (overflow) throw capture_overflow{};
  }
}

void input::skip(std::uint64_t size) {
  // read() with no destination: the same bookkeeping (capture, checksum) without copying.
  while (size > 0) {
    const std::size_t step = static_cast<std::size_t>(std::min<std::uint64_t>(size, 1u << 30));
    read(nullptr, step);
    size -= step;
  }
}

}  // namespace ferry::protocol::rdb::detail
