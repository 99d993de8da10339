#include "engine/import/struct_events.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/transfer/rebuild_commands.hpp"
#include "protocol/wire/errors.hpp"

namespace ferry::engine {

namespace rdb = protocol::rdb;
using protocol::command_buffer;
using protocol::errc;
using protocol::reply;
using namespace rebuild_commands;

namespace {

value_type type_of_kind(rdb::value_kind kind) {
  switch (kind) {
    case rdb::value_kind::string:
      return value_type::string;
    case rdb::value_kind::list:
      return value_type::list;
    case rdb::value_kind::set:
      return value_type::set;
    case rdb::value_kind::zset:
      return value_type::zset;
    case rdb::value_kind::hash:
      return value_type::hash;
    case rdb::value_kind::stream:
      return value_type::stream;
    case rdb::value_kind::module:
      break;
  }
  return value_type::module;
}

/// Items per element of the type: a zset's member and score, a hash's field and value.
std::size_t items_per_element(value_type type) {
  return type == value_type::zset || type == value_type::hash ? 2 : 1;
}

}  // namespace

std::string format_score(double score) {
  if (std::isinf(score)) return score > 0 ? "inf" : "-inf";
  // fmt prints the shortest text that reads back to the same double.
  return fmt::format("{}", score);
}

event_rebuild::event_rebuild(params p, const rebuild_caps& caps, const rebuild_sizes& sizes)
    : params_(std::move(p)), caps_(caps), sizes_(sizes), commands_(0) {
  begin();
}

void event_rebuild::begin() {
  step_ = event_step::events;
  phase_ = phase::collect;
  type_ = value_type::unknown;
  temp_ = fmt::format("{}:{}", params_.temp_prefix, attempt_);
  temp_made_ = false;
  ended_ = false;
  items_.clear();
  field_expiry_.clear();
  any_field_expiry_ = false;
  piece_.clear();
  field_.clear();
  field_open_ = false;
  items_bytes_ = 0;
  written_ = 0;
  commands_.clear();
  replies_ = 0;
  claims_.clear();
  group_.clear();
  consumer_.clear();
  stream_made_ = false;
  outcome_.bytes = 0;
  outcome_.lost_pending = 0;
  outcome_.changed = false;
}

bool event_rebuild::whole() const noexcept {
  return params_.size_hint != 0 && params_.size_hint <= sizes_.whole_bytes &&
         !params_.keep_existing && type_ != value_type::stream;
}

std::size_t event_rebuild::held_bytes() const noexcept {
  return items_bytes_ + piece_.size() + field_.size() + commands_.size_bytes();
}

void event_rebuild::finish(rebuild_end end) {
  outcome_.end = end;
  outcome_.expire_at_ms = params_.expire_at_ms;
  step_ = event_step::done;
  items_.clear();
  field_expiry_.clear();
  piece_.clear();
  field_.clear();
  items_bytes_ = 0;
  commands_.clear();
}

void event_rebuild::fail(rebuild_end end, errc error, std::string detail) {
  outcome_.error = error;
  outcome_.detail = std::move(detail);
  if (temp_made_ && end == rebuild_end::failed) {
    // A temporary key already written goes now rather than when it expires.
    pending_end_ = end;
    items_.clear();
    items_bytes_ = 0;
    commands_.clear();
    writer w{commands_, false};
    w.key_command("DEL", temp_);
    replies_ = 1;
    claims_.clear();
    phase_ = phase::cleanup;
    step_ = event_step::target;
    return;
  }
  finish(end);
}

void event_rebuild::give_up(errc error, std::string detail, bool cleanup) {
  if (!cleanup) temp_made_ = false;  // left to expire
  fail(rebuild_end::failed, error, std::move(detail));
}

void event_rebuild::start_again() {
  ambiguous_ = true;
  if (++attempt_ > sizes_.max_attempts) {
    fail(rebuild_end::fatal, errc::timeout,
         fmt::format("the target kept redirecting or refusing the key after {} attempts",
                     sizes_.max_attempts));
    return;
  }
  ++outcome_.restarts;
  begin();
}

bool event_rebuild::refused(const reply& r, std::string_view command) {
  if (!r.is_error()) return false;
  const errc kind = protocol::classify_error_reply(r.text());
  if (kind == errc::oom) {
    fail(rebuild_end::fatal, kind, std::string(r.text()));
  } else if (protocol::disposition_of(kind) == protocol::disposition::fatal) {
    fail(rebuild_end::fatal, kind,
         fmt::format("the target refused {}: {}{}", command, r.text(),
                     protocol::refusal_advice(kind, r.text())));
  } else {
    fail(rebuild_end::failed, kind, fmt::format("{} on the target: {}", command, r.text()));
  }
  return true;
}

// ---- events -------------------------------------------------------------------------------

void event_rebuild::add_item(std::string item) {
  items_bytes_ += item.size();
  items_.push_back(std::move(item));
}

void event_rebuild::close_field() { field_open_ = false; }

void event_rebuild::take_event(const rdb::value_event& e) {
  switch (e.type) {
    case rdb::event_type::begin:
      type_ = type_of_kind(e.kind);
      if (type_ == value_type::module) {
        return fail(rebuild_end::failed, errc::bad_payload,
                    "a module's value: type commands cannot write it; load that module on the "
                    "target");
      }
      if (type_ == value_type::string) add_item(std::string());
      return;
    case rdb::event_type::string_piece:
      items_[0].append(e.data);
      items_bytes_ += e.data.size();
      if (!whole() && items_bytes_ >= sizes_.chunk_bytes) flush(false);
      return;
    case rdb::event_type::element:
    case rdb::event_type::hash_value:
      return take_element(e);
    case rdb::event_type::zset_member:
      add_item(std::string(e.data));
      add_item(format_score(e.score));
      flush(false);
      return;
    case rdb::event_type::hash_field:
      close_field();
      flush(false);  // a full chunk goes first; this field waits in field_
      field_.assign(e.data);
      return;
    case rdb::event_type::hash_field_expiry:
      if (!field_open_) return;
      field_open_ = false;
      if (e.expire_ms > 0) {
        if (e.expire_ms <= params_.now_ms) {
          // Expired already: the target would drop it at once (as its own load of the file does).
          items_bytes_ -= items_[items_.size() - 1].size() + items_[items_.size() - 2].size();
          items_.resize(items_.size() - 2);
          field_expiry_.pop_back();
        } else if (!caps_.target_field_ttls) {
          return fail(rebuild_end::failed, errc::bad_payload,
                      "the hash has field expiries (Redis 7.4 HEXPIRE), which the target cannot "
                      "hold; import it into Redis 7.4 or later");
        } else {
          field_expiry_.back() = e.expire_ms;
          any_field_expiry_ = true;
        }
      }
      flush(false);
      return;
    case rdb::event_type::stream_entry:
    case rdb::event_type::stream_meta:
    case rdb::event_type::stream_group:
    case rdb::event_type::stream_consumer:
    case rdb::event_type::stream_pending:
      return take_stream(e);
    case rdb::event_type::end:
      ended_ = true;
      close_field();
      if (type_ == value_type::stream) return stream_ready();
      if (whole()) return build_whole();
      flush(true);
      return;
  }
}

void event_rebuild::take_element(const rdb::value_event& e) {
  if (e.first_piece()) piece_.clear();
  if (e.item_size > sizes_.max_element_bytes) {
    return fail(rebuild_end::failed, errc::key_too_large,
                fmt::format("an element of {} bytes is larger than ferry holds at once ({} "
                            "bytes, a writer thread's share of --max-inflight-bytes); raise "
                            "--max-inflight-bytes to import this key",
                            e.item_size, sizes_.max_element_bytes));
  }
  piece_.append(e.data);
  if (!e.last_piece()) return;
  if (e.type == rdb::event_type::hash_value) {
    add_item(std::move(field_));
    field_.clear();
    field_expiry_.push_back(-1);
    add_item(std::move(piece_));
    piece_.clear();
    field_open_ = true;  // its expiry may follow; flushed at the next field or the end
    return;
  }
  add_item(std::move(piece_));
  piece_.clear();
  flush(false);
}

void event_rebuild::flush(bool last) {
  if (step_ != event_step::events || field_open_) return;
  const std::size_t elements = items_.size() / items_per_element(type_);
  const bool full = type_ == value_type::string ? items_bytes_ >= sizes_.chunk_bytes
                                                : items_bytes_ >= sizes_.chunk_bytes ||
                                                      elements >= sizes_.max_chunk_elements;
  if (!last && (whole() || !full)) return;
  const bool empty = type_ == value_type::string ? items_[0].empty() && temp_made_ : items_.empty();
  if (!empty) return build_chunk();
  if (!last) return;
  if (!temp_made_) return finish(rebuild_end::vanished);  // nothing left (every field expired)
  build_final();
}

void event_rebuild::build_chunk() {
  commands_.clear();
  claims_.clear();
  writer w{commands_, false};
  const std::int64_t temp_ttl = sizes_.temp_ttl.count();
  if (type_ == value_type::string && !temp_made_) {
    write_items_command(w, type_, temp_, items_, /*first=*/true, temp_ttl);
  } else {
    write_items_command(w, type_, temp_, items_, !temp_made_, 0);
    if (any_field_expiry_) field_expiry_commands(w, temp_, items_, field_expiry_);
    w.key_int("PEXPIRE", temp_, temp_ttl);
  }
  written_ +=
      type_ == value_type::string ? items_[0].size() : items_.size() / items_per_element(type_);
  outcome_.bytes += items_bytes_;
  items_.clear();
  if (type_ == value_type::string) items_.emplace_back();
  items_bytes_ = 0;
  field_expiry_.clear();
  any_field_expiry_ = false;
  replies_ = commands_.commands();
  phase_ = phase::chunk_write;
  step_ = event_step::target;
}

void event_rebuild::build_whole() {
  if (items_.empty()) return finish(rebuild_end::vanished);  // every field had expired
  commands_.clear();
  claims_.clear();
  replies_ = encode_whole(commands_);
  outcome_.bytes += items_bytes_;
  written_ +=
      type_ == value_type::string ? items_[0].size() : items_.size() / items_per_element(type_);
  phase_ = phase::whole_write;
  step_ = event_step::target;
}

std::size_t event_rebuild::encode_whole(command_buffer& out) const {
  const std::size_t before = out.commands();
  writer w{out, false};
  w.plain({"MULTI"});
  w.key_command("DEL", params_.key);
  write_items_command(w, type_, params_.key, items_, /*first=*/true, 0);
  if (any_field_expiry_) field_expiry_commands(w, params_.key, items_, field_expiry_);
  if (params_.expire_at_ms > 0) w.key_int("PEXPIREAT", params_.key, params_.expire_at_ms);
  w.plain({"EXEC"});
  return out.commands() - before;
}

void event_rebuild::build_final() {
  commands_.clear();
  claims_.clear();
  writer w{commands_, false};
  w.key_command(length_command(type_), temp_);
  rename_into_place(w, temp_, params_.key, params_.expire_at_ms, params_.keep_existing);
  replies_ = commands_.commands();
  phase_ = phase::final_write;
  step_ = event_step::target;
}

// ---- replies -------------------------------------------------------------------------------

void event_rebuild::take(std::span<reply> r) {
  switch (phase_) {
    case phase::collect:
      return;
    case phase::whole_write: {
      if (const exec_refusal no = refusal_in_exec(r, /*writes=*/true); no.reply != nullptr) {
        refused(*no.reply, no.what);
        return;
      }
      const reply& exec = r.back();
      const bool existed = !exec.elements.empty() && exec.elements[0].integer > 0;
      return finish(existed && !ambiguous_ ? rebuild_end::rescanned : rebuild_end::copied);
    }
    case phase::chunk_write: {
      if (const reply* bad = first_error(r); bad != nullptr) {
        refused(*bad,
                type_ == value_type::stream ? "XADD/XSETID/XGROUP/XCLAIM" : write_name(type_));
        return;
      }
      for (const std::uint32_t c : claims_) {
        // XCLAIM ignores an id whose entry is not in the stream: that pending entry is lost.
        if (c < r.size() && r[c].elements.empty()) ++outcome_.lost_pending;
      }
      temp_made_ = true;
      commands_.clear();
      claims_.clear();
      phase_ = phase::collect;
      step_ = event_step::events;
      if (ended_) build_final();
      return;
    }
    case phase::final_write: {
      const placement p = judge_placement(r, params_.keep_existing);
      switch (p.outcome) {
        case placement::result::refused:
          refused(*p.refusal.reply, p.refusal.what);
          return;
        case placement::result::malformed:
          return fail(rebuild_end::failed, errc::protocol_violation,
                      "the target's EXEC reply to the final RENAME is malformed");
        case placement::result::temp_gone:
          return start_again();  // build it again
        case placement::result::kept:
        case placement::result::placed:
          break;
      }
      if (p.temp_length >= 0 && static_cast<std::uint64_t>(p.temp_length) != written_) {
        outcome_.changed = true;  // the temporary key does not hold what was written to it
      }
      if (p.outcome == placement::result::kept) {
        pending_end_ = rebuild_end::exists;
        commands_.clear();
        writer w{commands_, false};
        w.key_command("DEL", temp_);
        replies_ = 1;
        phase_ = phase::cleanup;
        return;
      }
      return finish(p.existed && !ambiguous_ ? rebuild_end::rescanned : rebuild_end::copied);
    }
    case phase::cleanup:
      temp_made_ = false;
      return finish(pending_end_);
  }
}

}  // namespace ferry::engine
