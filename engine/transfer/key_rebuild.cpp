// The rebuild machine: what every key goes through (probe, the whole or chunked value of a
// string, list, set, sorted set or hash, the final rename): its states and the commands of each.
// The replies: key_rebuild_take.cpp. Streams: rebuild_stream.cpp.

#include "engine/transfer/key_rebuild.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/transfer/rebuild_commands.hpp"
#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

using protocol::command_buffer;
using protocol::errc;
using protocol::reply;
using namespace rebuild_commands;

std::string temp_key_prefix(std::uint16_t slot, std::string_view job, std::uint64_t n) {
  return fmt::format("{}{{{}}}:{}:{}", temp_key_marker, protocol::hash_tag_for(slot), job, n);
}

key_rebuild::key_rebuild(params p, const rebuild_caps& caps, const rebuild_sizes& sizes)
    : params_(std::move(p)), caps_(caps), sizes_(sizes), type_(params_.type) {
  begin();
}

void key_rebuild::begin() {
  side_ = rebuild_side::source;
  items_.clear();
  field_expiry_.clear();
  held_ = 0;
  expire_at_ = 0;
  cursor_.assign(1, '0');  // (not = "0": GCC 12 -Wrestrict misfires)
  offset_ = 0;
  read_all_ = false;
  start_length_ = -1;
  end_length_ = -1;
  written_ = 0;
  outcome_.bytes = 0;
  outcome_.lost_pending = 0;
  temp_made_ = false;
  groups_.clear();
  group_ = 0;
  pending_from_.assign(1, '-');
  consumers_.clear();
  consumers_read_ = false;
  if (type_ == value_type::unknown || type_ == value_type::module) {
    phase_ = phase::probe;  // a module's name comes from TYPE
    return;
  }
  if (type_ == value_type::stream) {
    next_temp();
    phase_ = phase::stream_meta;
    return;
  }
  const bool small = params_.size_hint != 0 && params_.size_hint <= sizes_.whole_bytes;
  if (small && !params_.keep_existing) {
    phase_ = phase::whole_read;
    return;
  }
  next_temp();
  count_ = type_ == value_type::string ? sizes_.chunk_bytes
                                       : std::min<std::size_t>(count_, sizes_.max_chunk_elements);
  phase_ = phase::chunk_read;
}

void key_rebuild::next_temp() {
  temp_ = fmt::format("{}:{}", params_.temp_prefix, attempt_);
  temp_made_ = false;
}

void key_rebuild::finish(rebuild_end end) {
  outcome_.end = end;
  outcome_.expire_at_ms = expire_at_;
  side_ = rebuild_side::done;
  items_.clear();
  held_ = 0;
}

void key_rebuild::fail(rebuild_end end, errc error, std::string detail) {
  outcome_.error = error;
  outcome_.detail = std::move(detail);
  // A temporary key already written goes now rather than when it expires.
  if (temp_made_ && end == rebuild_end::failed) {
    pending_end_ = end;
    phase_ = phase::cleanup;
    side_ = rebuild_side::target;
    items_.clear();
    held_ = 0;
    return;
  }
  finish(end);
}

void key_rebuild::start_again() {
  ambiguous_ = true;  // an earlier attempt may have written the key
  if (++attempt_ > sizes_.max_attempts) {
    fail(rebuild_end::fatal, errc::timeout,
         fmt::format("the target kept redirecting or refusing the key after {} attempts",
                     sizes_.max_attempts));
    return;
  }
  ++outcome_.restarts;
  begin();
}

void key_rebuild::broken() { start_again(); }

void key_rebuild::restart_with_type() {
  // The key changed type under us: learn it again. Counts as an attempt, so a key that keeps
  // changing ends.
  type_ = value_type::unknown;
  params_.size_hint = 0;
  start_again();
}

bool key_rebuild::refused(const reply& r, std::string_view command) {
  if (!r.is_error()) return false;
  const errc kind = protocol::classify_error_reply(r.text());
  if (kind == errc::wrong_type) {
    restart_with_type();
    return true;
  }
  const bool target = side_ == rebuild_side::target;
  if (kind == errc::oom) {
    fail(rebuild_end::fatal, kind, std::string(r.text()));
    return true;
  }
  if (protocol::disposition_of(kind) == protocol::disposition::fatal) {
    fail(rebuild_end::fatal, kind,
         fmt::format("the {} refused {}: {}{}", target ? "target" : "source", command, r.text(),
                     protocol::refusal_advice(kind, r.text())));
    return true;
  }
  fail(rebuild_end::failed, kind,
       fmt::format("{} on the {}: {}", command, target ? "target" : "source", r.text()));
  return true;
}

void key_rebuild::adapt(std::size_t elements, std::size_t bytes) {
  if (type_ == value_type::string || elements == 0) return;
  const std::size_t per = std::max<std::size_t>(bytes / elements, 1);
  const std::size_t wanted =
      std::clamp<std::size_t>(sizes_.chunk_bytes / per, 1, sizes_.max_chunk_elements);
  count_ = wanted < count_ ? wanted : std::min(wanted, count_ * 2);
}

// A reply holding skipped bulks (larger than the driver lets a reply keep): ask for fewer
// elements, or give up on an element larger than ferry holds at once.
bool key_rebuild::items_skipped(const reply& array) {
  const std::size_t biggest = largest_skipped(array);
  if (biggest == 0) return false;
  const std::size_t total = reply_bytes(array) + skipped_bytes(array) + 64;
  if (biggest > sizes_.max_element_bytes || (count_ == 1 && total > sizes_.max_element_bytes)) {
    fail(rebuild_end::failed, errc::key_too_large,
         fmt::format("an element of {} bytes is larger than ferry holds at once ({} bytes, a "
                     "worker thread's share of --max-inflight-bytes); raise --max-inflight-bytes "
                     "to copy this key",
                     biggest, sizes_.max_element_bytes));
    return true;
  }
  if (count_ > 1) {
    count_ = std::max<std::size_t>(count_ / 4, 1);
  } else {
    want_bytes_ = total;  // reserve all of it next time
  }
  return true;
}

std::size_t key_rebuild::next_read_bytes() const noexcept {
  // Replies of scalars, lengths and expiries, XINFO and a page of XPENDING.
  constexpr std::size_t small_step = 64 << 10;
  switch (phase_) {
    case phase::whole_read:
      // A DUMP payload may be compressed: leave room for what it inflates to.
      return std::min<std::size_t>(2 * params_.size_hint + small_step, sizes_.max_element_bytes);
    case phase::chunk_read:
    case phase::stream_read:
      if (type_ == value_type::string) return count_ + 64;
      return std::min(std::max(2 * sizes_.chunk_bytes, want_bytes_), sizes_.max_element_bytes);
    default:
      return small_step;
  }
}

std::size_t key_rebuild::encode(command_buffer& out, bool asking) const {
  const std::size_t before = out.commands();
  if (side_ == rebuild_side::source) {
    encode_source(out, asking);
  } else if (side_ == rebuild_side::target) {
    encode_target(out, asking);
  }
  const std::size_t added = out.commands() - before;
  return asking ? added / 2 : added;
}

void key_rebuild::encode_source(command_buffer& out, bool asking) const {
  const protocol::bytes& key = params_.key;
  writer w{out, asking};
  switch (phase_) {
    case phase::probe:
      w.key_command("TYPE", key);
      return;
    case phase::whole_read:
      whole_read_command(w, type_, key);
      w.key_command(expiry_command(caps_), key);
      return;
    case phase::whole_ttls:
    case phase::chunk_ttls:
      field_ttls_command(w, key, items_);
      return;
    case phase::chunk_read:
      chunk_read_command(w, type_, key, cursor_, offset_, count_);
      if (start_length_ < 0) w.key_command(length_command(type_), key);
      return;
    case phase::final_read:
      w.key_command(length_command(type_), key);
      w.key_command(expiry_command(caps_), key);
      return;
    default:
      encode_stream_source(out, asking);
      return;
  }
}

void key_rebuild::encode_target(command_buffer& out, bool asking) const {
  const protocol::bytes& key = params_.key;
  writer w{out, asking};
  const std::int64_t temp_ttl = sizes_.temp_ttl.count();
  switch (phase_) {
    case phase::whole_write: {
      w.plain({"MULTI"});
      w.key_command("DEL", key);
      write_items_command(w, type_, key.view(), items_, /*first=*/true, 0);
      field_expiry_commands(w, key.view(), items_, field_expiry_);
      if (expire_at_ > 0) w.key_int("PEXPIREAT", key.view(), expire_at_);
      w.plain({"EXEC"});
      return;
    }
    case phase::chunk_write:
      if (type_ == value_type::string && !temp_made_) {
        write_items_command(w, type_, temp_, items_, /*first=*/true, temp_ttl);
        return;
      }
      write_items_command(w, type_, temp_, items_, !temp_made_, 0);
      field_expiry_commands(w, temp_, items_, field_expiry_);
      w.key_int("PEXPIRE", temp_, temp_ttl);
      return;
    case phase::final_write:
      w.key_command(length_command(type_), temp_);
      rename_into_place(w, temp_, key.view(), expire_at_, params_.keep_existing);
      return;
    case phase::cleanup:
      w.key_command("DEL", temp_);
      return;
    default:
      encode_stream_target(out, asking);
      return;
  }
}

}  // namespace ferry::engine
