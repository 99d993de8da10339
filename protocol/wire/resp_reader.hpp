#pragma once
// Incremental RESP2 parser built on hiredis's redisReader.
//
// hiredis does the parsing; ferry's object functions build `reply` values. Bulk strings are copied
// once out of hiredis's buffer into chunks owned by this reader (small ones share a chunk, large
// ones get their own), and every `bytes` in a reply keeps its chunk alive. Limits are checked on
// the length header, before a huge bulk string or array is buffered.
//
// Input is handed to hiredis a few KiB at a time (or exactly one pending bulk string's worth):
// hiredis 0.14 memmoves its whole unconsumed buffer after every reply once 1 KiB is consumed, so
// feeding it a large pipeline in one piece costs time quadratic in the pipeline's size.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/wire/reply.hpp"

struct redisReader;

namespace ferry::protocol {

/// Bounds on what one reply may announce.
struct reader_limits {
  /// Largest bulk string accepted (Redis's own proto-max-bulk-len default is 512 MB). Also bounds
  /// a status or error line.
  std::size_t max_bulk_bytes = std::size_t{512} * 1024 * 1024;
  /// Largest number of elements one array may announce (hiredis caps it at INT_MAX anyway).
  std::size_t max_array_elements = std::size_t{1} << 24;
};

/// Which bulk strings a reader keeps. A bulk string it does not keep is read past without being
/// stored and comes back as a `reply_kind::skipped` reply holding its length and first bytes:
/// a reader learns that a value is big (and, from a DUMP payload's first byte, its type) without
/// holding it, and the peer's stream stays in sync.
struct bulk_keeping {
  /// Bulk strings longer than this are skipped; 0 keeps every one.
  std::size_t skip_over = 0;
  /// Once bulk strings kept since `keep_bulks()` would pass this many bytes, the next one is
  /// skipped too; 0 for no budget. Bulk strings of up to a few KiB may be parsed before the
  /// reader sees their header and are always kept, so the budget bounds the large ones.
  std::size_t budget = 0;
  /// Keep the first bulk string even when it alone passes the budget (one huge value goes
  /// through alone); false to skip it too (the caller reserves its size and reads it again).
  bool keep_first = true;
};

/// Turns a byte stream into replies. Not thread-safe; one per connection.
class resp_reader {
 public:
  /// Size of a shared chunk that packs small strings.
  static constexpr std::size_t chunk_bytes = 64 * 1024;
  /// Strings of at least this size get an allocation of their own instead of chunk space.
  static constexpr std::size_t own_allocation_bytes = 16 * 1024;

  /// A reader that enforces `limits`.
  explicit resp_reader(reader_limits limits = {});
  ~resp_reader();
  resp_reader(const resp_reader&) = delete;
  resp_reader& operator=(const resp_reader&) = delete;
  /// Moves the parser state, mid-reply included; `other` is left without a parser.
  resp_reader(resp_reader&& other) noexcept;
  /// Moves the parser state, mid-reply included; `other` is left without a parser.
  resp_reader& operator=(resp_reader&& other) noexcept;

  /// First bytes of a skipped bulk string kept in its reply.
  static constexpr std::size_t skipped_prefix_bytes = 16;

  /// Sets which bulk strings are kept from now on and starts counting kept bytes again.
  void keep_bulks(bulk_keeping keeping) noexcept;
  /// Bytes of bulk strings kept since `keep_bulks()`.
  std::size_t kept_bytes() const noexcept;

  /// Appends bytes received from the peer (ignored once the reader failed).
  void feed(std::string_view data);

  /// The next complete reply, or nothing when more input is needed; an error code of
  /// `errc::protocol_violation` or `errc::reply_too_large` when the input is malformed or over a
  /// limit. After an error the reader is unusable (the stream is out of sync), every later call
  /// returns the same error, and `error_message()` says what was wrong.
  boost::system::result<std::optional<reply>> next();

  /// Why the last `next()` failed, for messages.
  const std::string& error_message() const noexcept { return error_; }

  /// True once `next()` has reported an error.
  bool failed() const noexcept { return static_cast<bool>(failure_); }

  /// Bytes fed but not yet returned as replies (a partly parsed reply counts in full).
  std::size_t buffered() const noexcept { return fed_ - returned_; }

 private:
  struct builder;

  void hand_over(std::size_t max_bytes);
  std::size_t window() const noexcept;
  bool check_pending();
  boost::system::error_code fail(boost::system::error_code code, std::string message);
  void shrink_hiredis_buffer() noexcept;
  bool should_skip(std::size_t length) const noexcept;
  void start_skip(std::size_t digits, std::size_t length);
  std::string_view drop_skipped(std::string_view data);

  std::unique_ptr<builder> builder_;  // the object functions' state; hiredis's privdata
  redisReader* reader_ = nullptr;
  reader_limits limits_;
  std::string staged_;  // fed, not yet handed to hiredis (from staged_pos_ on)
  std::size_t staged_pos_ = 0;
  std::size_t pending_need_ = 0;  // bytes hiredis needs for its pending bulk string, if known
  std::size_t fed_ = 0;
  std::size_t returned_ = 0;
  bulk_keeping keeping_;
  std::size_t skip_left_ = 0;  // bytes of a skipped bulk string (and its CRLF) still to come
  std::size_t skip_length_ = 0;
  std::string skip_prefix_;  // its first bytes
  std::string skip_tail_;    // its last two bytes seen so far: must be CRLF
  boost::system::error_code failure_;
  std::string error_;
};

}  // namespace ferry::protocol
