// The rebuild machine's replies: what each answer of the source or the target moves it to
// (the states and their commands: key_rebuild.cpp; streams: rebuild_stream.cpp).

#include <fmt/format.h>

#include "engine/transfer/key_rebuild.hpp"
#include "engine/transfer/rebuild_commands.hpp"

namespace ferry::engine {

using protocol::errc;
using protocol::reply;
using namespace rebuild_commands;

void key_rebuild::take(std::span<reply> r, std::int64_t now_ms) {
  switch (phase_) {
    case phase::probe:
      return take_probe(r);
    case phase::whole_read:
      return take_whole_read(r, now_ms);
    case phase::whole_ttls:
    case phase::chunk_ttls:
      return take_ttls(r);
    case phase::whole_write:
      return take_whole_write(r);
    case phase::chunk_read:
      return take_chunk_read(r);
    case phase::chunk_write:
      return take_chunk_write(r);
    case phase::stream_meta:
      return take_stream_meta(r);
    case phase::stream_read:
      return take_stream_read(r);
    case phase::stream_create:
      return take_simple_write(r, phase::groups_write);
    case phase::stream_write:
      return take_simple_write(r, read_all_ ? phase::groups_write : phase::stream_read);
    case phase::groups_write:
      return take_simple_write(r, groups_.empty() ? phase::final_read : phase::group_read);
    case phase::group_read:
      return take_group_read(r);
    case phase::group_write:
      return take_group_write(r);
    case phase::final_read:
      return take_final_read(r, now_ms);
    case phase::final_write:
      return take_final_write(r);
    case phase::cleanup:
      return take_cleanup(r);
  }
}

void key_rebuild::take_probe(std::span<reply> r) {
  if (refused(r[0], "TYPE")) return;
  type_ = type_from_reply(r[0].text());
  if (type_ == value_type::none) return finish(rebuild_end::vanished);
  if (type_ == value_type::module) {
    return fail(rebuild_end::failed, errc::bad_payload,
                fmt::format("a value of module type '{}': the target refused its DUMP payload "
                            "and type commands cannot copy it; load that module on the target",
                            r[0].text()));
  }
  const value_type learned = type_;
  params_.type = learned;
  begin();
  type_ = learned;
}

namespace {

std::int64_t absolute_expiry(const reply& r, bool pexpiretime, std::int64_t now_ms) {
  if (r.integer < 0) return r.integer;  // -1 none, -2 no key
  return pexpiretime ? r.integer : now_ms + r.integer;
}

std::size_t bytes_of(const std::vector<reply>& items) {
  std::size_t n = 0;
  for (const reply& item : items) n += reply_bytes(item);
  return n;
}

}  // namespace

void key_rebuild::take_whole_read(std::span<reply> r, std::int64_t now_ms) {
  if (refused(r[0], whole_read_name(type_)) || refused(r[1], expiry_command(caps_))) return;
  const std::int64_t expiry = absolute_expiry(r[1], caps_.source_pexpiretime, now_ms);
  if (expiry == -2 || r[0].is_nil()) return finish(rebuild_end::vanished);
  if (largest_skipped(r[0]) != 0) {
    // Larger than its hint said (it grew, or compressed well): chunk it.
    params_.size_hint = 0;
    return begin();
  }
  if (type_ == value_type::string) {
    items_.assign(1, std::move(r[0]));
  } else {
    if (r[0].elements.empty()) return finish(rebuild_end::vanished);
    items_ = std::move(r[0].elements);
  }
  expire_at_ = expiry > 0 ? expiry : 0;
  if (expire_at_ != 0 && expire_at_ <= now_ms) return finish(rebuild_end::vanished);
  held_ = bytes_of(items_);
  if (type_ == value_type::hash && caps_.source_field_ttls && params_.field_ttls) {
    phase_ = phase::whole_ttls;
    return;
  }
  phase_ = phase::whole_write;
  side_ = rebuild_side::target;
}

void key_rebuild::take_ttls(std::span<reply> r) {
  field_expiry_.clear();
  if (r[0].is_error()) {
    if (protocol::classify_error_reply(r[0].text()) != errc::unknown_command &&
        refused(r[0], "HPEXPIRETIME")) {
      return;
    }
  } else {
    bool any = false;
    for (const reply& e : r[0].elements) {
      field_expiry_.push_back(e.integer);
      any = any || e.integer >= 0;
    }
    if (field_expiry_.size() * 2 != items_.size()) field_expiry_.clear();
    if (any && !caps_.target_field_ttls) {
      return fail(rebuild_end::failed, errc::bad_payload,
                  "the hash has field expiries (Redis 7.4 HEXPIRE), which the target cannot "
                  "hold; copy it into Redis 7.4 or later");
    }
    if (!any) field_expiry_.clear();
  }
  phase_ = phase_ == phase::whole_ttls ? phase::whole_write : phase::chunk_write;
  side_ = rebuild_side::target;
}

void key_rebuild::take_whole_write(std::span<reply> r) {
  if (const exec_refusal no = refusal_in_exec(r, /*writes=*/true); no.reply != nullptr) {
    refused(*no.reply, no.what);
    return;
  }
  const reply& exec = r.back();
  const bool existed = !exec.elements.empty() && exec.elements[0].integer > 0;
  outcome_.bytes += held_;
  finish(existed && !ambiguous_ ? rebuild_end::rescanned : rebuild_end::copied);
}

void key_rebuild::take_chunk_read(std::span<reply> r) {
  const std::string_view command = chunk_read_name(type_);
  if (refused(r[0], command)) return;
  if (r.size() > 1) {
    if (refused(r[1], length_command(type_))) return;
    start_length_ = r[1].integer;
  }
  if (type_ == value_type::string) {
    const std::size_t got = r[0].str.size();
    read_all_ = got < count_;
    offset_ += got;
    if (got == 0 && temp_made_) {
      phase_ = phase::final_read;
      return;
    }
    items_.assign(1, std::move(r[0]));
  } else if (type_ == value_type::list) {
    if (items_skipped(r[0])) return;  // read again, fewer at a time
    read_all_ = r[0].elements.size() < count_;
    offset_ += r[0].elements.size();
    items_ = std::move(r[0].elements);
  } else {
    if (r[0].elements.size() != 2) {
      return fail(rebuild_end::failed, errc::protocol_violation,
                  fmt::format("{} on the source gave a malformed reply", command));
    }
    if (items_skipped(r[0].elements[1])) return;
    cursor_ = r[0].elements[0].str.str();
    read_all_ = cursor_ == "0";
    items_ = std::move(r[0].elements[1].elements);
  }
  held_ = bytes_of(items_);
  const std::size_t stride = type_ == value_type::hash || type_ == value_type::zset ? 2 : 1;
  adapt(items_.size() / stride, held_);
  if (items_.empty() && type_ != value_type::string) {
    phase_ = read_all_ ? phase::final_read : phase::chunk_read;
    return;
  }
  if (type_ == value_type::hash && caps_.source_field_ttls && params_.field_ttls) {
    phase_ = phase::chunk_ttls;
    return;
  }
  phase_ = phase::chunk_write;
  side_ = rebuild_side::target;
}

void key_rebuild::take_chunk_write(std::span<reply> r) {
  if (const reply* bad = first_error(r); bad != nullptr) {
    refused(*bad, write_name(type_));
    return;
  }
  temp_made_ = true;
  const std::size_t stride = type_ == value_type::hash || type_ == value_type::zset ? 2 : 1;
  written_ += type_ == value_type::string ? items_[0].str.size() : items_.size() / stride;
  outcome_.bytes += held_;
  items_.clear();
  field_expiry_.clear();
  held_ = 0;
  side_ = rebuild_side::source;
  phase_ = read_all_ ? phase::final_read : phase::chunk_read;
}

void key_rebuild::take_simple_write(std::span<reply> r, phase next) {
  if (const reply* bad = first_error(r); bad != nullptr) {
    refused(*bad, "XADD/XSETID/XGROUP");
    return;
  }
  temp_made_ = true;
  if (phase_ == phase::stream_write) {
    written_ += items_.size();
    outcome_.bytes += held_;
  }
  items_.clear();
  held_ = 0;
  side_ = rebuild_side::source;
  phase_ = next;
  if (next == phase::groups_write) side_ = rebuild_side::target;
}

void key_rebuild::take_final_read(std::span<reply> r, std::int64_t now_ms) {
  if (refused(r[0], length_command(type_)) || refused(r[1], expiry_command(caps_))) return;
  const std::int64_t expiry = absolute_expiry(r[1], caps_.source_pexpiretime, now_ms);
  end_length_ = r[0].integer;
  expire_at_ = expiry > 0 ? expiry : 0;
  const bool gone = expiry == -2 || (expire_at_ != 0 && expire_at_ <= now_ms);
  if (gone || !temp_made_) {
    if (!gone && end_length_ > 0) return start_again();  // it filled up while we read nothing
    pending_end_ = rebuild_end::vanished;
    if (!temp_made_) return finish(rebuild_end::vanished);
    phase_ = phase::cleanup;
    side_ = rebuild_side::target;
    return;
  }
  if (start_length_ >= 0 && end_length_ != start_length_) outcome_.changed = true;
  phase_ = phase::final_write;
  side_ = rebuild_side::target;
}

void key_rebuild::take_final_write(std::span<reply> r) {
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
  if (p.temp_length != end_length_) outcome_.changed = true;
  if (p.outcome == placement::result::kept) {
    pending_end_ = rebuild_end::exists;
    phase_ = phase::cleanup;
    return;
  }
  finish(p.existed && !ambiguous_ ? rebuild_end::rescanned : rebuild_end::copied);
}

void key_rebuild::take_cleanup(std::span<reply>) {
  // Whatever DEL said, the temporary key expires on its own.
  temp_made_ = false;
  finish(pending_end_);
}

}  // namespace ferry::engine
