#include "engine/import/rdb_io.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace ferry::engine {

namespace {

std::string errno_text() { return std::strerror(errno); }

/// Compressed bytes moved through zlib per call.
constexpr std::size_t gzip_chunk = std::size_t{256} << 10;

}  // namespace

// ---- fd_source ----

fd_source::fd_source(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}

fd_source::~fd_source() {
  if (fd_ > STDERR_FILENO) ::close(fd_);
}

std::size_t fd_source::read_fd(char* out, std::size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd_, out, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    throw std::runtime_error(fmt::format("cannot read '{}': {}", name_, errno_text()));
  }
}

std::string fd_source::peek(std::size_t n) {
  while (peeked_.size() < n) {
    char buffer[64];
    const std::size_t got = read_fd(buffer, std::min(sizeof buffer, n - peeked_.size()));
    if (got == 0) break;
    peeked_.append(buffer, got);
  }
  return peeked_.substr(0, n);
}

std::size_t fd_source::read(char* out, std::size_t size) {
  std::size_t n = 0;
  if (peeked_at_ < peeked_.size()) {
    n = std::min(size, peeked_.size() - peeked_at_);
    std::memcpy(out, peeked_.data() + peeked_at_, n);
    peeked_at_ += n;
  } else {
    n = read_fd(out, size);
  }
  consumed_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

// ---- gzip_source ----

struct gzip_source::state {
  protocol::rdb::byte_source& in;
  std::string name;
  z_stream z{};
  std::vector<unsigned char> buffer = std::vector<unsigned char>(gzip_chunk);
  std::uint64_t compressed_read = 0;
  bool member_ended = false;  // the last member's trailer was read
  bool input_ended = false;

  state(protocol::rdb::byte_source& source, std::string n) : in(source), name(std::move(n)) {
    // 15 + 32: a gzip or a zlib header, recognized automatically.
    if (inflateInit2(&z, 15 + 32) != Z_OK) throw std::runtime_error("zlib: out of memory");
  }
  ~state() { inflateEnd(&z); }

  bool refill() {
    if (input_ended) return false;
    const std::size_t n = in.read(reinterpret_cast<char*>(buffer.data()), buffer.size());
    if (n == 0) {
      input_ended = true;
      return false;
    }
    z.next_in = buffer.data();
    z.avail_in = static_cast<uInt>(n);
    compressed_read += n;
    return true;
  }
};

gzip_source::gzip_source(protocol::rdb::byte_source& compressed, std::string name)
    : state_(std::make_unique<state>(compressed, std::move(name))) {}

gzip_source::~gzip_source() = default;

std::size_t gzip_source::read(char* out, std::size_t size) {
  state& s = *state_;
  s.z.next_out = reinterpret_cast<unsigned char*>(out);
  s.z.avail_out = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
  while (s.z.avail_out != 0) {
    if (s.z.avail_in == 0 && !s.refill()) {
      if (s.member_ended) break;  // the end of the last member: the end of the input
      throw std::runtime_error(fmt::format(
          "the gzip data of '{}' ends after {} compressed bytes, inside its stream: the file is "
          "truncated (copy it again)",
          s.name, s.compressed_read));
    }
    if (s.member_ended) {
      // More bytes after a member's trailer: the next member (gzip files may be concatenated).
      if (inflateReset(&s.z) != Z_OK) throw std::runtime_error("zlib: inflateReset failed");
      s.member_ended = false;
    }
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      s.member_ended = true;
      continue;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) continue;
    throw std::runtime_error(fmt::format(
        "the gzip data of '{}' is damaged near compressed byte {} ({}): the file is corrupt "
        "(copy it again)",
        s.name, s.compressed_read - s.z.avail_in, s.z.msg != nullptr ? s.z.msg : "zlib error"));
  }
  return size - s.z.avail_out;
}

// ---- opening an input ----

maybe<rdb_input> open_rdb_input(const std::string& path) {
  rdb_input input;
  input.name = path;
  int fd = STDIN_FILENO;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return fail_with(job_error::input_file,
                       fmt::format("cannot open the RDB file '{}': {}", path, errno_text()));
    }
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    input.regular = path != "-";
    input.size = static_cast<std::uint64_t>(st.st_size);
  } else if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail_with(job_error::input_file,
                     fmt::format("'{}' is a directory, not an RDB file", path));
  }
  input.file_owner = std::make_unique<fd_source>(fd, path == "-" ? "stdin" : path);
  input.file = input.file_owner.get();
  try {
    const std::string magic = input.file_owner->peek(2);
    input.gzip = magic == "\x1f\x8b";
  } catch (const std::exception& e) {
    return fail_with(job_error::input_file, e.what());
  }
  if (input.gzip) {
    input.gzip_owner =
        std::make_unique<gzip_source>(*input.file_owner, path == "-" ? "stdin" : path);
  }
  input.source = input.gzip ? static_cast<protocol::rdb::byte_source*>(input.gzip_owner.get())
                            : input.file_owner.get();
  return input;
}

// ---- fd_sink ----

fd_sink::fd_sink(int fd, std::string name, std::size_t buffer_bytes)
    : fd_(fd), name_(std::move(name)), buffer_(buffer_bytes) {}

void fd_sink::write_fd(const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw std::runtime_error(fmt::format("cannot write '{}': {}", name_, errno_text()));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void fd_sink::write(const char* data, std::size_t size) {
  produced_.fetch_add(size, std::memory_order_relaxed);
  if (used_ + size > buffer_.size()) {
    flush();
    if (size >= buffer_.size()) {
      write_fd(data, size);
      return;
    }
  }
  std::memcpy(buffer_.data() + used_, data, size);
  used_ += size;
}

void fd_sink::flush() {
  write_fd(buffer_.data(), used_);
  used_ = 0;
}

// ---- gzip_sink ----

struct gzip_sink::state {
  protocol::rdb::byte_sink& out;
  z_stream z{};
  std::vector<unsigned char> buffer = std::vector<unsigned char>(gzip_chunk);
  bool finished = false;

  state(protocol::rdb::byte_sink& sink, int level) : out(sink) {
    // 15 + 16: a gzip header and trailer rather than zlib's.
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("zlib: cannot start compressing (out of memory?)");
    }
  }
  ~state() { deflateEnd(&z); }

  void pump(int flush) {
    for (;;) {
      z.next_out = buffer.data();
      z.avail_out = static_cast<uInt>(buffer.size());
      const int rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib: deflate failed");
      const std::size_t n = buffer.size() - z.avail_out;
      if (n > 0) out.write(reinterpret_cast<const char*>(buffer.data()), n);
      if (flush == Z_FINISH ? rc == Z_STREAM_END : z.avail_out != 0) return;
    }
  }
};

gzip_sink::gzip_sink(protocol::rdb::byte_sink& out, int level)
    : state_(std::make_unique<state>(out, level)) {}

gzip_sink::~gzip_sink() = default;

void gzip_sink::write(const char* data, std::size_t size) {
  state& s = *state_;
  while (size > 0) {
    const std::size_t n = std::min<std::size_t>(size, 1u << 30);
    s.z.next_in = reinterpret_cast<unsigned char*>(const_cast<char*>(data));
    s.z.avail_in = static_cast<uInt>(n);
    s.pump(Z_NO_FLUSH);
    data += n;
    size -= n;
  }
}

void gzip_sink::finish() {
  state& s = *state_;
  if (s.finished) return;
  s.z.next_in = nullptr;
  s.z.avail_in = 0;
  s.pump(Z_FINISH);
  s.finished = true;
}

// ---- atomic_file ----

atomic_file::atomic_file(std::string path, std::string temp, int fd)
    : path_(std::move(path)),
      temp_(std::move(temp)),
      fd_(fd),
      sink_(std::make_unique<fd_sink>(fd, temp_)) {}

atomic_file::~atomic_file() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

maybe<std::unique_ptr<atomic_file>> atomic_file::create(const std::string& path) {
  const std::filesystem::path target = std::filesystem::absolute(path);
  std::random_device random;
  const std::string temp =
      (target.parent_path() /
       fmt::format(".{}.tmp-{}-{:08x}", target.filename().string(), ::getpid(), random()))
          .string();
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return fail_with(job_error::output_file,
                     fmt::format("cannot create a temporary file in '{}' for '{}': {}",
                                 target.parent_path().string(), path, errno_text()));
  }
  return std::unique_ptr<atomic_file>(new atomic_file(path, temp, fd));
}

maybe<void> atomic_file::commit() {
  try {
    sink_->flush();
  } catch (const std::exception& e) {
    return fail_with(job_error::output_file, e.what());
  }
  if (::fsync(fd_) != 0) {
    return fail_with(job_error::output_file,
                     fmt::format("cannot flush '{}' to disk: {}", temp_, errno_text()));
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    return fail_with(job_error::output_file,
                     fmt::format("cannot close '{}': {}", temp_, errno_text()));
  }
  fd_ = -1;
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    return fail_with(job_error::output_file,
                     fmt::format("cannot rename '{}' to '{}': {}", temp_, path_, errno_text()));
  }
  committed_ = true;
  // The rename is durable only once the directory entry is.
  const auto dir = std::filesystem::absolute(path_).parent_path();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace ferry::engine
