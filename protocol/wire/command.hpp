#pragma once
// Binary-safe RESP command encoding into a reusable buffer.
//
// A `command_buffer` holds any number of pipelined commands. Arguments given as `bytes` are not
// copied: the buffer records where they go, and `segments()` returns the gather list (encoded
// text, referenced payload, encoded text, ...) that a connection writes in one go.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/wire/bytes.hpp"

namespace ferry::protocol {

/// A pipelined batch of encoded commands. Reuse it (`clear()`) to keep its capacity.
class command_buffer {
 public:
  /// Referenced arguments shorter than this are copied by default: a gather segment of its own
  /// costs more than copying a short payload (Asio writes at most 64 buffers per system call).
  static constexpr std::size_t default_copy_below = 1024;

  /// A buffer that copies `arg_ref` values shorter than `default_copy_below`.
  command_buffer() = default;
  /// A buffer that copies `arg_ref` values shorter than `copy_below` (0: never copy).
  explicit command_buffer(std::size_t copy_below) : copy_below_(copy_below) {}
  /// Copies the encoded text; referenced payloads are shared, not copied.
  command_buffer(const command_buffer& other);
  /// Copies the encoded text; referenced payloads are shared, not copied.
  command_buffer& operator=(const command_buffer& other);
  /// Moves the commands; `other` is left empty.
  command_buffer(command_buffer&& other) noexcept;
  /// Moves the commands; `other` is left empty.
  command_buffer& operator=(command_buffer&& other) noexcept;
  ~command_buffer() = default;

  /// Starts a command of `argc` arguments (the command name counts).
  void begin(std::size_t argc);
  /// Appends one argument, copying it.
  void arg(std::string_view value);
  /// Appends an integer argument in decimal.
  void arg(std::int64_t value);
  /// Appends one argument by reference: `value` is kept alive, not copied (unless it is shorter
  /// than the copy threshold).
  void arg_ref(const bytes& value);
  /// Appends one argument: `value` by reference with its last `tail.size()` bytes replaced by a
  /// copy of `tail` (a DUMP payload with a rewritten trailer, sent without copying the payload).
  /// `tail` must not be longer than `value`.
  void arg_ref_with_tail(const bytes& value, std::string_view tail);

  /// Appends a whole command whose arguments are copied, e.g. `push({"GET", key})`.
  void push(std::initializer_list<std::string_view> args);

  /// Makes room for `text_bytes` more bytes of encoded text and `references` more references.
  void reserve(std::size_t text_bytes, std::size_t references = 0);

  /// Number of commands begun.
  std::size_t commands() const noexcept { return commands_; }
  /// Total encoded size in bytes, referenced arguments included.
  std::size_t size_bytes() const noexcept { return used_ + referenced_bytes_; }
  /// True when no command was begun.
  bool empty() const noexcept { return commands_ == 0; }
  /// Number of arguments passed by reference (not copied).
  std::size_t references() const noexcept { return references_.size(); }

  /// Forgets all commands and references, keeping allocated capacity.
  void clear() noexcept;

  /// The encoding as an ordered list of byte ranges, none empty; valid until the next change.
  const std::vector<std::string_view>& segments();

  /// The whole encoding as one string (copies; for tests and small control commands).
  std::string flatten() const;

 private:
  struct reference {
    std::size_t offset;  // position in text_ where the referenced bytes belong
    bytes value;
  };

  char* grow(std::size_t n);
  void bulk_header(std::size_t length);

  // text_ is kept at its full size so that encoding writes straight into it; used_ is its
  // meaningful length. Growing zero-fills, but only once per capacity doubling.
  std::string text_;
  std::size_t used_ = 0;
  std::vector<reference> references_;
  std::vector<std::string_view> segments_;
  bool segments_valid_ = false;
  std::size_t referenced_bytes_ = 0;
  std::size_t commands_ = 0;
  std::size_t copy_below_ = default_copy_below;
};

}  // namespace ferry::protocol
