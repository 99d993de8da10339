#include "protocol/wire/resp_reader.hpp"

#include <hiredis/read.h>
extern "C" {  // sds.h, unlike read.h, does not say so itself
#include <hiredis/sds.h>
}

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#include "protocol/wire/errors.hpp"

namespace ferry::protocol {
namespace {

// hiredis gets at most this much input beyond what its pending reply needs. hiredis 0.14
// memmoves everything it holds after each reply once 1 KiB is consumed, so what it holds must
// stay small: 4 KiB moves about two bytes per byte parsed and stays in L1. (Measured: a
// 10,000-reply pipeline given to hiredis in one piece parses 6x slower per reply, and the gap
// grows with the pipeline.)
constexpr std::size_t slice_bytes = std::size_t{4} * 1024;

// A length or integer line is at most 20 characters ("-9223372036854775808"); a peer that sends
// more without CRLF is not speaking RESP, and hiredis would buffer it forever.
constexpr std::size_t max_number_line = 32;

// Arrays announce their size before their elements arrive. Reserving all of it at once would let
// one header (within the limit) allocate ~70 bytes per announced element up front, so the
// vector is pre-sized up to this many and grows as elements really arrive.
constexpr std::size_t max_array_reserve = 8192;

// The hiredis buffer is replaced when it is this large and mostly empty (a huge bulk string has
// passed through and the stream never drained completely, so hiredis's own maxbuf check, which
// needs an empty buffer, never fired).
constexpr std::size_t shrink_floor = std::size_t{1024} * 1024;

}  // namespace

// The state behind hiredis's object functions (its privdata): the reply being built, the chunk
// small strings are packed into, and a failure raised inside a callback. The object functions
// run inside hiredis's C frames, so no exception may leave them.
struct resp_reader::builder {
  reader_limits limits;
  reply root;  // the top-level reply under construction; moved out by next()
  std::shared_ptr<char[]> chunk;
  std::size_t chunk_used = chunk_bytes;  // full: the first small string starts a chunk
  std::size_t kept = 0;                  // bytes of bulk strings stored since keep_bulks()
  // The next bulk string hiredis completes is the placeholder of a skipped one.
  bool skip_armed = false;
  std::size_t skip_length = 0;
  std::string skip_prefix;
  bool failed = false;
  bool out_of_memory = false;
  errc failure = errc::protocol_violation;
  std::string message;

  static redisReplyObjectFunctions functions;

  // Copies `n` bytes out of hiredis's buffer into memory that the returned bytes keep alive.
  bytes store(const char* p, std::size_t n) {
    if (n == 0) return {};
    if (n >= own_allocation_bytes) {
      auto own = std::make_shared_for_overwrite<char[]>(n);
      std::memcpy(own.get(), p, n);
      const char* data = own.get();
      return {std::move(own), data, n};
    }
    if (chunk_bytes - chunk_used < n) {
      // The old chunk lives on in the bytes that point into it.
      chunk = std::make_shared_for_overwrite<char[]>(chunk_bytes);
      chunk_used = 0;
    }
    char* data = chunk.get() + chunk_used;
    std::memcpy(data, p, n);
    chunk_used += n;
    return {chunk, data, n};
  }

  // Where the object for `task` lives: the root slot, or the next element of its parent array.
  // Elements arrive in order, and a parent's vector only grows when its previous child is
  // complete, so the pointers hiredis keeps to unfinished ancestors stay valid.
  reply* slot_for(const redisReadTask* task) {
    if (task->parent == nullptr) return &root;
    auto* parent = static_cast<reply*>(task->parent->obj);
    parent->elements.emplace_back();
    return &parent->elements.back();
  }

  // Makes hiredis stop: a NULL object makes it record "Out of memory", and next() reports this
  // failure instead.
  void* refuse(errc code, std::string text) noexcept {
    failed = true;
    failure = code;
    message = std::move(text);
    return nullptr;
  }

  void* refuse_oom() noexcept {
    failed = true;
    out_of_memory = true;
    return nullptr;
  }

  static builder& of(const redisReadTask* task) { return *static_cast<builder*>(task->privdata); }

  static void* create_string(const redisReadTask* task, char* str, std::size_t len) noexcept {
    builder& b = of(task);
    try {
      if (task->type == REDIS_REPLY_STRING && b.skip_armed) {
        b.skip_armed = false;
        reply* r = b.slot_for(task);
        r->kind = reply_kind::skipped;
        r->integer = static_cast<std::int64_t>(b.skip_length);
        r->str = bytes::copy_of(b.skip_prefix);
        return r;
      }
      if (len > b.limits.max_bulk_bytes) {
        return b.refuse(errc::reply_too_large,
                        task->type == REDIS_REPLY_STRING
                            ? fmt::format("reply announces a bulk string of {} bytes, over the "
                                          "limit of {} bytes",
                                          len, b.limits.max_bulk_bytes)
                            : fmt::format("reply has a status or error line of {} bytes, over "
                                          "the limit of {} bytes",
                                          len, b.limits.max_bulk_bytes));
      }
      // hiredis 0.14 skips the two bytes after a bulk payload without looking at them.
      if (task->type == REDIS_REPLY_STRING && (str[len] != '\r' || str[len + 1] != '\n')) {
        return b.refuse(errc::protocol_violation,
                        fmt::format("malformed RESP reply: a bulk string of {} bytes is not "
                                    "followed by CRLF",
                                    len));
      }
      reply* r = b.slot_for(task);
      r->kind = task->type == REDIS_REPLY_STRING   ? reply_kind::string
                : task->type == REDIS_REPLY_STATUS ? reply_kind::status
                                                   : reply_kind::error;
      r->str = b.store(str, len);
      if (task->type == REDIS_REPLY_STRING) b.kept += len;
      return r;
    } catch (...) {  // std::bad_alloc, from the chunk, the vector or fmt
      return b.refuse_oom();
    }
  }

  static void* create_array(const redisReadTask* task, int elements) noexcept {
    builder& b = of(task);
    try {
      const auto n = static_cast<std::size_t>(elements);  // hiredis passes -1 as nil, not here
      if (elements < 0 || n > b.limits.max_array_elements) {
        return b.refuse(errc::reply_too_large,
                        fmt::format("reply announces an array of {} elements, over the limit "
                                    "of {}",
                                    elements, b.limits.max_array_elements));
      }
      reply* r = b.slot_for(task);
      r->kind = reply_kind::array;
      r->elements.reserve(std::min(n, max_array_reserve));
      return r;
    } catch (...) {
      return b.refuse_oom();
    }
  }

  static void* create_integer(const redisReadTask* task, long long value) noexcept {
    builder& b = of(task);
    try {
      reply* r = b.slot_for(task);
      r->kind = reply_kind::integer;
      r->integer = value;
      return r;
    } catch (...) {
      return b.refuse_oom();
    }
  }

  static void* create_nil(const redisReadTask* task) noexcept {
    builder& b = of(task);
    try {
      reply* r = b.slot_for(task);
      r->kind = reply_kind::nil;
      return r;
    } catch (...) {
      return b.refuse_oom();
    }
  }

  // Objects live in the root slot and its vectors, which the builder owns and resets.
  static void free_object(void*) noexcept {}
};

redisReplyObjectFunctions resp_reader::builder::functions = {
    create_string, create_array, create_integer, create_nil, free_object};

namespace {

std::string describe_hiredis_error(const redisReader* r) {
  const std::string_view text = r->errstr;
  if (text.find("nested multi bulk") != std::string_view::npos) {
    return fmt::format(
        "malformed RESP reply: arrays nested more than 8 levels deep, which the hiredis parser "
        "cannot read ({})",
        text);
  }
  return fmt::format("malformed RESP reply: {}", text);
}

}  // namespace

resp_reader::resp_reader(reader_limits limits)
    : builder_(std::make_unique<builder>()), limits_(limits) {
  builder_->limits = limits;
  reader_ = redisReaderCreateWithFunctions(&builder::functions);
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->privdata = builder_.get();
}

resp_reader::~resp_reader() {
  if (reader_ != nullptr) redisReaderFree(reader_);
}

resp_reader::resp_reader(resp_reader&& other) noexcept
    : builder_(std::move(other.builder_)),
      reader_(std::exchange(other.reader_, nullptr)),
      limits_(other.limits_),
      staged_(std::move(other.staged_)),
      staged_pos_(std::exchange(other.staged_pos_, 0)),
      pending_need_(std::exchange(other.pending_need_, 0)),
      fed_(std::exchange(other.fed_, 0)),
      returned_(std::exchange(other.returned_, 0)),
      keeping_(other.keeping_),
      skip_left_(std::exchange(other.skip_left_, 0)),
      skip_length_(std::exchange(other.skip_length_, 0)),
      skip_prefix_(std::move(other.skip_prefix_)),
      skip_tail_(std::move(other.skip_tail_)),
      failure_(std::exchange(other.failure_, {})),
      error_(std::move(other.error_)) {}

resp_reader& resp_reader::operator=(resp_reader&& other) noexcept {
  if (this != &other) {
    if (reader_ != nullptr) redisReaderFree(reader_);
    builder_ = std::move(other.builder_);
    reader_ = std::exchange(other.reader_, nullptr);
    limits_ = other.limits_;
    staged_ = std::move(other.staged_);
    staged_pos_ = std::exchange(other.staged_pos_, 0);
    pending_need_ = std::exchange(other.pending_need_, 0);
    fed_ = std::exchange(other.fed_, 0);
    returned_ = std::exchange(other.returned_, 0);
    keeping_ = other.keeping_;
    skip_left_ = std::exchange(other.skip_left_, 0);
    skip_length_ = std::exchange(other.skip_length_, 0);
    skip_prefix_ = std::move(other.skip_prefix_);
    skip_tail_ = std::move(other.skip_tail_);
    failure_ = std::exchange(other.failure_, {});
    error_ = std::move(other.error_);
  }
  return *this;
}

std::size_t resp_reader::window() const noexcept {
  const std::size_t want = std::max(slice_bytes, pending_need_);
  const std::size_t held = reader_->len - reader_->pos;
  return want > held ? want - held : 0;
}

void resp_reader::keep_bulks(bulk_keeping keeping) noexcept {
  keeping_ = keeping;
  if (builder_) builder_->kept = 0;
}

std::size_t resp_reader::kept_bytes() const noexcept { return builder_ ? builder_->kept : 0; }

bool resp_reader::should_skip(std::size_t length) const noexcept {
  if (keeping_.skip_over != 0 && length > keeping_.skip_over) return true;
  if (keeping_.budget == 0 || builder_->kept + length <= keeping_.budget) return false;
  return builder_->kept != 0 || !keeping_.keep_first;
}

// hiredis is stuck on a bulk string's complete length header. Everything after the header (the
// rest of hiredis's buffer, then the staged bytes) is taken back; hiredis keeps the '$' it
// consumed and, once the payload and its CRLF have gone by, is handed "0\r\n\r\n" in their
// place, which completes the reply as an empty string that the builder turns into a skipped one.
void resp_reader::start_skip(std::size_t digits, std::size_t length) {
  const char* p = reader_->buf + reader_->pos;
  const std::size_t avail = reader_->len - reader_->pos;
  std::string after(p + digits + 2, avail - digits - 2);
  after.append(staged_, staged_pos_, std::string::npos);
  const sds fresh = sdsempty();
  if (fresh == nullptr) throw std::bad_alloc();
  sdsfree(reader_->buf);
  reader_->buf = fresh;
  reader_->pos = 0;
  reader_->len = 0;
  staged_.clear();
  staged_pos_ = 0;
  pending_need_ = 0;
  skip_left_ = length + 2;
  skip_length_ = length;
  skip_prefix_.clear();
  skip_tail_.clear();
  const std::string_view rest = drop_skipped(after);
  if (!failure_) staged_.append(rest);
}

// Consumes what `data` holds of the skipped bulk string; returns what follows it.
std::string_view resp_reader::drop_skipped(std::string_view data) {
  const std::size_t n = std::min(skip_left_, data.size());
  const std::size_t at = skip_length_ + 2 - skip_left_;  // index of data[0] in the bulk string
  const std::size_t prefix_end = std::min(skip_length_, skipped_prefix_bytes);
  if (at < prefix_end) skip_prefix_.append(data.data(), std::min(n, prefix_end - at));
  if (at + n > skip_length_) {
    const std::size_t from = std::max(at, skip_length_);
    skip_tail_.append(data.data() + (from - at), at + n - from);
  }
  skip_left_ -= n;
  if (skip_left_ != 0) return {};
  if (skip_tail_ != "\r\n") {
    fail(make_error_code(errc::protocol_violation),
         fmt::format("malformed RESP reply: a bulk string of {} bytes is not followed by CRLF",
                     skip_length_));
    return {};
  }
  builder_->skip_armed = true;
  builder_->skip_length = skip_length_;
  builder_->skip_prefix = skip_prefix_;
  staged_.append("0\r\n\r\n");
  return data.substr(n);
}

void resp_reader::feed(std::string_view data) {
  if (failure_ || reader_ == nullptr || data.empty()) return;
  fed_ += data.size();
  if (skip_left_ != 0) {
    data = drop_skipped(data);
    if (failure_ || data.empty()) return;
  }
  std::size_t direct = 0;
  if (staged_pos_ == staged_.size()) {
    // Nothing staged: give hiredis what it may hold straight away, which for a large bulk string
    // arriving in pieces is every piece (one copy fewer).
    staged_.clear();
    staged_pos_ = 0;
    direct = std::min(data.size(), window());
    if (direct != 0 && redisReaderFeed(reader_, data.data(), direct) != REDIS_OK) {
      throw std::bad_alloc();  // hiredis's only feed failure
    }
  } else if (staged_pos_ > staged_.size() / 2) {
    staged_.erase(0, staged_pos_);  // amortised: at most as many bytes moved as were handed over
    staged_pos_ = 0;
  }
  staged_.append(data.substr(direct));
}

void resp_reader::hand_over(std::size_t max_bytes) {
  const std::size_t n = std::min(max_bytes, staged_.size() - staged_pos_);
  if (redisReaderFeed(reader_, staged_.data() + staged_pos_, n) != REDIS_OK) {
    throw std::bad_alloc();
  }
  staged_pos_ += n;
  if (staged_pos_ == staged_.size()) {
    staged_.clear();
    staged_pos_ = 0;
  }
}

boost::system::result<std::optional<reply>> resp_reader::next() {
  if (failure_) return failure_;
  if (reader_ == nullptr) {
    return fail(make_error_code(errc::protocol_violation), "resp_reader used after a move");
  }
  if (skip_left_ != 0) return std::optional<reply>{};  // in the middle of a skipped bulk string
  for (;;) {
    void* out = nullptr;
    const int rc = redisReaderGetReply(reader_, &out);
    if (builder_->failed) {
      if (builder_->out_of_memory) {
        fail(make_error_code(errc::reply_too_large), "out of memory while storing a reply");
        throw std::bad_alloc();
      }
      return fail(make_error_code(builder_->failure), std::move(builder_->message));
    }
    if (rc != REDIS_OK) {
      return fail(make_error_code(errc::protocol_violation), describe_hiredis_error(reader_));
    }
    if (out != nullptr) {
      returned_ = fed_ - (staged_.size() - staged_pos_) - (reader_->len - reader_->pos);
      pending_need_ = 0;
      std::optional<reply> value(std::move(builder_->root));
      builder_->root = reply{};
      shrink_hiredis_buffer();
      return value;
    }
    if (!check_pending()) return failure_;
    if (staged_pos_ == staged_.size()) return std::optional<reply>{};
    hand_over(std::max(window(), slice_bytes));
  }
}

// hiredis wants more input. Look at the item it is stuck on (its read stack and buffer are
// public in 0.14): a bulk string's length header is judged as soon as its digits arrive, before
// the payload is buffered, and lines that never end are cut off.
bool resp_reader::check_pending() {
  pending_need_ = 0;
  if (reader_->ridx < 0) return true;
  const int type = reader_->rstack[reader_->ridx].type;
  const char* p = reader_->buf + reader_->pos;  // just past the type byte
  const std::size_t avail = reader_->len - reader_->pos;

  if (type == REDIS_REPLY_STRING && !(avail > 0 && p[0] == '-')) {  // "$-1..." is a nil
    std::size_t digits = 0;
    std::size_t length = 0;
    bool overflow = false;
    for (; digits < avail && p[digits] >= '0' && p[digits] <= '9'; ++digits) {
      const auto digit = static_cast<std::size_t>(p[digits] - '0');
      overflow |= length > (std::numeric_limits<std::size_t>::max() - digit) / 10;
      length = length * 10 + digit;
    }
    const bool complete = digits + 1 < avail && p[digits] == '\r' && p[digits + 1] == '\n';
    // A bulk string to be skipped is never stored, so the size limit does not apply to it.
    const bool skips_large = keeping_.skip_over != 0 && keeping_.skip_over < limits_.max_bulk_bytes;
    if (!overflow && complete && should_skip(length)) {
      start_skip(digits, length);
      return !failure_;
    }
    if (overflow || (length > limits_.max_bulk_bytes && !skips_large)) {
      // More digits can only make it larger, so a partial header already decides.
      fail(make_error_code(errc::reply_too_large),
           fmt::format("reply announces a bulk string of {}{} bytes, over the limit of {} bytes",
                       complete ? "" : "at least ",
                       std::string_view(p, std::min(digits, max_number_line)),
                       limits_.max_bulk_bytes));
      return false;
    }
    if (complete) {
      pending_need_ = digits + 2 + length + 2;
      return true;
    }
  }
  // hiredis found no CRLF in what it holds, so all of it belongs to the line, except a last CR
  // whose LF has not arrived yet: that CR ends the line and must not count towards its length
  // (else a line of exactly the limit is refused or not depending on where a TCP segment ends).
  const std::size_t line = avail > 0 && p[avail - 1] == '\r' ? avail - 1 : avail;
  if (type == REDIS_REPLY_STRING || type == REDIS_REPLY_INTEGER || type == REDIS_REPLY_ARRAY) {
    if (line > max_number_line) {
      fail(make_error_code(errc::protocol_violation),
           fmt::format("malformed RESP reply: a length or integer line runs past {} bytes "
                       "without CRLF",
                       max_number_line));
      return false;
    }
  } else if (type == REDIS_REPLY_STATUS || type == REDIS_REPLY_ERROR) {
    if (line > limits_.max_bulk_bytes) {
      fail(make_error_code(errc::reply_too_large),
           fmt::format("reply has a status or error line of more than {} bytes, over the limit",
                       limits_.max_bulk_bytes));
      return false;
    }
  }
  return true;
}

boost::system::error_code resp_reader::fail(boost::system::error_code code, std::string message) {
  failure_ = code;
  error_ = std::move(message);
  pending_need_ = 0;
  skip_left_ = 0;
  if (builder_) {
    builder_->skip_armed = false;
    builder_->root = reply{};  // drop the partial reply (and the chunks it holds)
    builder_->chunk.reset();
    builder_->chunk_used = chunk_bytes;
  }
  staged_.clear();
  staged_.shrink_to_fit();
  staged_pos_ = 0;
  return failure_;
}

void resp_reader::shrink_hiredis_buffer() noexcept {
  const sds buf = reader_->buf;
  const std::size_t live = reader_->len - reader_->pos;
  const std::size_t allocated = sdsalloc(buf);
  if (allocated < shrink_floor || live * 4 > allocated) return;
  // hiredis keeps offsets, not pointers, into its buffer (and ferry's objects copy out of it),
  // so a fresh buffer holding the unconsumed bytes is all it needs.
  const sds fresh = sdsnewlen(buf + reader_->pos, live);
  if (fresh == nullptr) return;
  sdsfree(buf);
  reader_->buf = fresh;
  reader_->pos = 0;
  reader_->len = live;
}

}  // namespace ferry::protocol
