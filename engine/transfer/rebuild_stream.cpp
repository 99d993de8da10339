// The stream steps of the rebuild machine (see key_rebuild.hpp): the stream's scalars and
// groups (XINFO STREAM, XINFO GROUPS), its entries (XRANGE → XADD with their ids), its id state
// (XSETID with entries-added and max-deleted-id), and per group its consumers (XINFO CONSUMERS →
// XGROUP CREATECONSUMER) and pending entries (XPENDING → XCLAIM ... FORCE, with the owner, the
// idle time and the delivery count).

#include <fmt/format.h>

#include "engine/transfer/key_rebuild.hpp"
#include "engine/transfer/rebuild_commands.hpp"

namespace ferry::engine {

using protocol::command_buffer;
using protocol::errc;
using protocol::reply;
using namespace rebuild_commands;

namespace {

/// The group of consumer groups' replies that says the group was destroyed meanwhile.
bool no_group(const reply& r) { return r.is_error() && r.text().starts_with("NOGROUP"); }

}  // namespace

void key_rebuild::encode_stream_source(command_buffer& out, bool asking) const {
  const protocol::bytes& key = params_.key;
  writer w{out, asking};
  switch (phase_) {
    case phase::stream_meta:
      for (const std::string_view what : {"STREAM", "GROUPS"}) {
        w.begin(3);
        out.arg("XINFO");
        out.arg(what);
        out.arg_ref(key);
      }
      return;
    case phase::stream_read:
      w.begin(6);
      out.arg("XRANGE");
      out.arg_ref(key);
      out.arg(cursor_);
      out.arg("+");
      out.arg("COUNT");
      out.arg(static_cast<std::int64_t>(count_));
      return;
    case phase::group_read: {
      const group_state& g = groups_[group_];
      if (!consumers_read_) {
        w.begin(4);
        out.arg("XINFO");
        out.arg("CONSUMERS");
        out.arg_ref(key);
        out.arg_ref(g.name);
      }
      w.begin(6);
      out.arg("XPENDING");
      out.arg_ref(key);
      out.arg_ref(g.name);
      out.arg(pending_from_);
      out.arg("+");
      out.arg(static_cast<std::int64_t>(sizes_.max_chunk_elements));
      return;
    }
    default:
      return;
  }
}

void key_rebuild::encode_stream_target(command_buffer& out, bool asking) const {
  writer w{out, asking};
  const std::int64_t temp_ttl = sizes_.temp_ttl.count();
  switch (phase_) {
    case phase::stream_create:
      // A stream without entries cannot come from XADD; MKSTREAM makes one, and the group that
      // made it goes at once.
      empty_stream_commands(w, temp_);
      break;
    case phase::stream_write:
      for (const reply& entry : items_) {
        xadd_command(w, temp_, entry.elements.at(0), entry.elements.at(1).elements);
      }
      break;
    case phase::groups_write: {
      const bool v2 = caps_.target_stream_v2 && entries_added_.has_value();
      xsetid_command(w, temp_, last_id_,
                     v2 ? std::optional<std::int64_t>(std::max<std::int64_t>(
                              *entries_added_, static_cast<std::int64_t>(written_)))
                        : std::nullopt,
                     max_deleted_id_);
      for (const group_state& g : groups_) {
        const bool read = caps_.target_stream_v2 && g.entries_read.has_value();
        xgroup_create_command(w, temp_, g.name, g.last_delivered,
                              read ? g.entries_read : std::nullopt);
      }
      break;
    }
    case phase::group_write: {
      const group_state& g = groups_[group_];
      if (caps_.target_createconsumer) {
        for (const reply& consumer : consumers_) {
          const reply* name = field_of(consumer, "name");
          if (name == nullptr) continue;
          create_consumer_command(w, temp_, g.name, name->str);
        }
      }
      // XPENDING: id, consumer, idle ms, deliveries. JUSTID with RETRYCOUNT keeps the count
      // exact; IDLE sets the last delivery that long before now.
      for (const reply& p : items_) {
        xclaim_command(w, temp_, g.name, p.elements.at(1).str, p.elements.at(0).str, "IDLE",
                       p.elements.at(2).integer, p.elements.at(3).integer);
      }
      break;
    }
    default:
      return;
  }
  w.key_int("PEXPIRE", temp_, temp_ttl);
}

void key_rebuild::take_stream_meta(std::span<reply> r) {
  if (r[0].is_error() && r[0].text().find("no such key") != std::string_view::npos) {
    return finish(rebuild_end::vanished);
  }
  if (refused(r[0], "XINFO STREAM") || refused(r[1], "XINFO GROUPS")) return;
  const reply* length = field_of(r[0], "length");
  const reply* last = field_of(r[0], "last-generated-id");
  if (length == nullptr || last == nullptr) {
    return fail(rebuild_end::failed, errc::protocol_violation,
                "XINFO STREAM on the source gave no length or last-generated-id");
  }
  start_length_ = length->integer;
  last_id_ = last->str.str();
  if (const reply* added = field_of(r[0], "entries-added"); added != nullptr) {
    entries_added_ = added->integer;
  }
  if (const reply* deleted = field_of(r[0], "max-deleted-entry-id"); deleted != nullptr) {
    max_deleted_id_ = deleted->str.str();
  }
  groups_.clear();
  for (const reply& g : r[1].elements) {
    const reply* name = field_of(g, "name");
    const reply* delivered = field_of(g, "last-delivered-id");
    if (name == nullptr || delivered == nullptr) continue;
    group_state state{protocol::bytes::copy_of(name->text()), delivered->str.str(), {}};
    if (const reply* read = field_of(g, "entries-read"); read != nullptr && !read->is_nil()) {
      state.entries_read = read->integer;
    }
    groups_.push_back(std::move(state));
  }
  cursor_.assign(1, '-');
  read_all_ = false;
  if (start_length_ == 0) {
    phase_ = phase::stream_create;
    side_ = rebuild_side::target;
    return;
  }
  phase_ = phase::stream_read;
}

void key_rebuild::take_stream_read(std::span<reply> r) {
  if (refused(r[0], "XRANGE")) return;
  if (items_skipped(r[0])) return;  // read again, fewer entries at a time
  std::vector<reply>& entries = r[0].elements;
  read_all_ = entries.size() < count_;
  side_ = rebuild_side::target;
  if (entries.empty()) {
    phase_ = temp_made_ ? phase::groups_write : phase::stream_create;
    return;
  }
  const std::string_view last = entries.back().elements.at(0).text();
  cursor_ = next_stream_id(last);
  last_id_ = max_stream_id(last_id_, std::string(last));
  items_ = std::move(entries);
  held_ = 0;
  for (const reply& e : items_) held_ += reply_bytes(e);
  adapt(items_.size(), held_);
  phase_ = phase::stream_write;
}

void key_rebuild::take_group_read(std::span<reply> r) {
  std::size_t at = 0;
  bool gone = false;
  if (!consumers_read_) {
    if (no_group(r[0])) {
      gone = true;
    } else if (refused(r[0], "XINFO CONSUMERS")) {
      return;
    } else {
      consumers_ = std::move(r[0].elements);
    }
    ++at;
  }
  if (!gone && no_group(r[at])) gone = true;
  if (gone) {
    // Destroyed while we copied the stream: the copy is of a moment that never was.
    outcome_.changed = true;
    consumers_.clear();
    items_.clear();
    read_all_ = true;
  } else {
    if (refused(r[at], "XPENDING")) return;
    items_ = std::move(r[at].elements);
    read_all_ = items_.size() < sizes_.max_chunk_elements;
    if (!items_.empty()) pending_from_ = next_stream_id(items_.back().elements.at(0).text());
  }
  phase_ = phase::group_write;
  side_ = rebuild_side::target;
}

void key_rebuild::take_group_write(std::span<reply> r) {
  if (const reply* bad = first_error(r); bad != nullptr) {
    refused(*bad, "XGROUP CREATECONSUMER/XCLAIM");
    return;
  }
  const std::size_t created = caps_.target_createconsumer ? consumers_.size() : 0;
  for (std::size_t i = created; i + 1 < r.size(); ++i) {
    // XCLAIM ignores an id whose entry was deleted from the stream: its pending entry is lost.
    if (r[i].elements.empty()) ++outcome_.lost_pending;
  }
  consumers_.clear();
  consumers_read_ = true;
  items_.clear();
  side_ = rebuild_side::source;
  if (!read_all_) {
    phase_ = phase::group_read;
    return;
  }
  ++group_;
  pending_from_.assign(1, '-');
  consumers_read_ = false;
  read_all_ = false;
  phase_ = group_ < groups_.size() ? phase::group_read : phase::final_read;
}

}  // namespace ferry::engine
