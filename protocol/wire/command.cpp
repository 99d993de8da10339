#include "protocol/wire/command.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

namespace ferry::protocol {
namespace {

// The longest decimal a 64-bit value needs ("-9223372036854775808", or 2^64-1).
constexpr std::size_t max_digits = 20;
// '$' or '*', the digits, CRLF.
constexpr std::size_t max_header = 1 + max_digits + 2;

char* put_crlf(char* p) noexcept {
  p[0] = '\r';
  p[1] = '\n';
  return p + 2;
}

// Writes `marker`, `value` in decimal and CRLF; the caller made room for max_header bytes.
char* put_header(char* p, char marker, std::size_t value) noexcept {
  *p++ = marker;
  p = std::to_chars(p, p + max_digits, value).ptr;
  return put_crlf(p);
}

}  // namespace

// Copies and moves never carry segments_ over: they point into the other buffer's text, which a
// short (in-place) std::string does not take along.
command_buffer::command_buffer(const command_buffer& other)
    : text_(other.text_.data(), other.used_),
      used_(other.used_),
      references_(other.references_),
      referenced_bytes_(other.referenced_bytes_),
      commands_(other.commands_),
      copy_below_(other.copy_below_) {}

command_buffer& command_buffer::operator=(const command_buffer& other) {
  if (this != &other) {
    clear();
    text_.assign(other.text_.data(), other.used_);
    used_ = other.used_;
    references_ = other.references_;
    referenced_bytes_ = other.referenced_bytes_;
    commands_ = other.commands_;
    copy_below_ = other.copy_below_;
  }
  return *this;
}

command_buffer::command_buffer(command_buffer&& other) noexcept
    : text_(std::move(other.text_)),
      used_(std::exchange(other.used_, 0)),
      references_(std::move(other.references_)),
      referenced_bytes_(std::exchange(other.referenced_bytes_, 0)),
      commands_(std::exchange(other.commands_, 0)),
      copy_below_(other.copy_below_) {
  other.clear();
}

command_buffer& command_buffer::operator=(command_buffer&& other) noexcept {
  if (this != &other) {
    text_ = std::move(other.text_);
    used_ = std::exchange(other.used_, 0);
    references_ = std::move(other.references_);
    segments_.clear();
    segments_valid_ = false;
    referenced_bytes_ = std::exchange(other.referenced_bytes_, 0);
    commands_ = std::exchange(other.commands_, 0);
    copy_below_ = other.copy_below_;
    other.clear();
  }
  return *this;
}

char* command_buffer::grow(std::size_t n) {
  if (text_.size() - used_ < n) {
    // Doubling keeps appends amortised O(1); the zero fill happens once per doubling.
    text_.resize(std::max({text_.size() * 2, used_ + n, std::size_t{256}}));
  }
  segments_valid_ = false;
  return text_.data() + used_;
}

void command_buffer::reserve(std::size_t text_bytes, std::size_t references) {
  grow(text_bytes);
  references_.reserve(references_.size() + references);
}

void command_buffer::begin(std::size_t argc) {
  char* const base = grow(max_header);
  used_ += static_cast<std::size_t>(put_header(base, '*', argc) - base);
  ++commands_;
}

void command_buffer::bulk_header(std::size_t length) {
  char* const base = grow(max_header);
  used_ += static_cast<std::size_t>(put_header(base, '$', length) - base);
}

void command_buffer::arg(std::string_view value) {
  char* const base = grow(max_header + value.size() + 2);
  char* p = put_header(base, '$', value.size());
  if (!value.empty()) std::memcpy(p, value.data(), value.size());  // memcpy(nullptr, 0) is UB
  p = put_crlf(p + value.size());
  used_ += static_cast<std::size_t>(p - base);
}

void command_buffer::arg(std::int64_t value) {
  char digits[max_digits];
  const auto n =
      static_cast<std::size_t>(std::to_chars(digits, digits + max_digits, value).ptr - digits);
  char* const base = grow(max_header + max_digits + 2);
  char* p = put_header(base, '$', n);
  std::memcpy(p, digits, n);
  p = put_crlf(p + n);
  used_ += static_cast<std::size_t>(p - base);
}

void command_buffer::arg_ref(const bytes& value) {
  if (value.size() < copy_below_ || value.empty()) {
    arg(value.view());
    return;
  }
  bulk_header(value.size());
  references_.push_back({used_, value});
  referenced_bytes_ += value.size();
  put_crlf(grow(2));
  used_ += 2;
}

void command_buffer::arg_ref_with_tail(const bytes& value, std::string_view tail) {
  const std::size_t head = value.size() - std::min(tail.size(), value.size());
  if (head < copy_below_ || head == 0) {
    std::string whole;
    whole.reserve(head + tail.size());
    whole.append(value.data(), head);
    whole.append(tail);
    arg(whole);
    return;
  }
  bulk_header(head + tail.size());
  references_.push_back({used_, bytes(value.owner(), value.data(), head)});
  referenced_bytes_ += head;
  char* p = grow(tail.size() + 2);
  std::memcpy(p, tail.data(), tail.size());
  put_crlf(p + tail.size());
  used_ += tail.size() + 2;
}

void command_buffer::push(std::initializer_list<std::string_view> args) {
  begin(args.size());
  for (std::string_view a : args) arg(a);
}

void command_buffer::clear() noexcept {
  used_ = 0;
  references_.clear();
  segments_.clear();
  segments_valid_ = false;
  referenced_bytes_ = 0;
  commands_ = 0;
}

const std::vector<std::string_view>& command_buffer::segments() {
  if (segments_valid_) return segments_;
  segments_.clear();
  segments_.reserve(2 * references_.size() + 1);
  std::size_t pos = 0;
  for (const reference& r : references_) {
    // Each reference follows its own "$<len>\r\n", so text pieces between them are never empty.
    segments_.emplace_back(text_.data() + pos, r.offset - pos);
    segments_.push_back(r.value.view());
    pos = r.offset;
  }
  if (used_ > pos) segments_.emplace_back(text_.data() + pos, used_ - pos);
  segments_valid_ = true;
  return segments_;
}

std::string command_buffer::flatten() const {
  std::string out;
  out.reserve(size_bytes());
  std::size_t pos = 0;
  for (const reference& r : references_) {
    out.append(text_.data() + pos, r.offset - pos);
    out.append(r.value.view());
    pos = r.offset;
  }
  out.append(text_.data() + pos, used_ - pos);
  return out;
}

}  // namespace ferry::protocol
