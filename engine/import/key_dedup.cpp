#include "engine/import/key_dedup.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace ferry::engine {

namespace {

/// Kept names are length-prefixed: 4 bytes little-endian, then the bytes.
constexpr std::size_t length_bytes = 4;
/// Names buffered before they are written to the file.
constexpr std::size_t flush_bytes = std::size_t{1} << 20;

void put_length(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

std::uint64_t hash_of(std::string_view key) {
  // std::hash of a string_view is a 64-bit Murmur hash in libstdc++; mixed once more so that
  // the low bits (the table index) depend on every input bit.
  std::uint64_t h = std::hash<std::string_view>{}(key);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::uint64_t memory_names::append(std::string_view name) {
  const std::uint64_t at = names_.size();
  put_length(names_, name.size());
  names_.append(name);
  return at;
}

bool memory_names::equals(std::uint64_t at, std::string_view name) {
  std::size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<std::size_t>(static_cast<unsigned char>(names_[at + i])) << (8 * i);
  }
  return n == name.size() && names_.compare(at + length_bytes, n, name) == 0;
}

maybe<std::unique_ptr<file_names>> file_names::create(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    // Filesystems without O_TMPFILE: a named file, removed at once.
    std::string path = dir + "/.ferry-export-keys-XXXXXX";
    const int named = ::mkstemp(path.data());
    if (named < 0) {
      return fail_with(job_error::output_file,
                       fmt::format("cannot create a temporary file in '{}' (for the names of the "
                                   "keys written): {}",
                                   dir, std::strerror(errno)));
    }
    ::unlink(path.c_str());
    return std::unique_ptr<file_names>(new file_names(named, dir));
  }
  return std::unique_ptr<file_names>(new file_names(fd, dir));
}

file_names::~file_names() { ::close(fd_); }

void file_names::flush() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::pwrite(fd_, buffer_.data() + done, buffer_.size() - done,
                               static_cast<off_t>(written_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw std::runtime_error(fmt::format(
          "cannot write the temporary file of key names in '{}': {}", dir_, std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  written_ += buffer_.size();
  buffer_.clear();
}

std::uint64_t file_names::append(std::string_view name) {
  const std::uint64_t at = written_ + buffer_.size();
  put_length(buffer_, name.size());
  buffer_.append(name);
  if (buffer_.size() >= flush_bytes) flush();
  return at;
}

bool file_names::equals(std::uint64_t at, std::string_view name) {
  if (at >= written_) flush();  // the name is still in the buffer: write it out first
  std::string kept(length_bytes + name.size(), '\0');
  std::size_t done = 0;
  while (done < kept.size()) {
    const ssize_t n =
        ::pread(fd_, kept.data() + done, kept.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      throw std::runtime_error(fmt::format(
          "cannot read the temporary file of key names in '{}': {}", dir_, std::strerror(errno)));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done < length_bytes) return false;
  std::size_t n = 0;
  for (int i = 0; i < 4; ++i) {
    n |= static_cast<std::size_t>(static_cast<unsigned char>(kept[i])) << (8 * i);
  }
  return n == name.size() && done == kept.size() &&
         std::string_view(kept).substr(length_bytes) == name;
}

key_dedup::key_dedup(std::size_t expected, std::unique_ptr<name_store> names)
    : names_(std::move(names)),
      slots_(std::bit_ceil(std::max<std::size_t>(expected + expected / 2, 1024))) {}

bool key_dedup::seen_before(std::string_view key) {
  if (key.size() > 0xffffffffULL) return false;  // never in a Redis key space
  const std::uint64_t h = hash_of(key);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    slot& s = slots_[i];
    if (s.at == 0) {
      s.hash = h;
      s.at = names_->append(key) + 1;
      if (++size_ * 10 > slots_.size() * 7) grow();
      return false;
    }
    if (s.hash == h && names_->equals(s.at - 1, key)) return true;
  }
}

void key_dedup::grow() {
  std::vector<slot> old(slots_.size() * 2);
  old.swap(slots_);
  const std::size_t mask = slots_.size() - 1;
  for (const slot& s : old) {
    if (s.at == 0) continue;
    std::size_t i = s.hash & mask;
    while (slots_[i].at != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

}  // namespace ferry::engine
