// The stream events of an import's struct mode (see struct_events.hpp): entries (XADD with
// their ids), the id state (XSETID with entries-added and max-deleted-id on a Redis 7 target),
// consumer groups (XGROUP CREATE ... ENTRIESREAD), consumers (XGROUP CREATECONSUMER, 6.2 on) and
// pending entries (XCLAIM ... TIME <last delivery> RETRYCOUNT <deliveries> FORCE JUSTID), all
// into the temporary key, a chunk of commands at a time.

#include <fmt/format.h>

#include <algorithm>

#include "engine/import/struct_events.hpp"
#include "engine/transfer/rebuild_commands.hpp"

namespace ferry::engine {

namespace rdb = protocol::rdb;
using namespace rebuild_commands;

void event_rebuild::take_stream(const rdb::value_event& e) {
  writer w{commands_, false};
  switch (e.type) {
    case rdb::event_type::stream_entry: {
      const std::string id = e.id.text();
      xadd_command(w, temp_, std::string_view(id), e.fields);
      stream_made_ = true;
      ++written_;
      for (const std::string_view f : e.fields) outcome_.bytes += f.size();
      break;
    }
    case rdb::event_type::stream_meta: {
      if (!stream_made_) empty_stream_commands(w, temp_);
      stream_made_ = true;
      const bool v2 = caps_.target_stream_v2;
      const std::string last = e.meta.last_id.text();
      const std::string deleted = e.meta.max_deleted_id.text();
      xsetid_command(w, temp_, last,
                     v2 ? std::optional<std::int64_t>(static_cast<std::int64_t>(
                              std::max<std::uint64_t>(e.meta.entries_added, written_)))
                        : std::nullopt,
                     deleted);
      break;
    }
    case rdb::event_type::stream_group: {
      group_.assign(e.group.name);
      const std::string delivered = e.group.last_delivered_id.text();
      const bool read = caps_.target_stream_v2 && e.group.entries_read >= 0;
      xgroup_create_command(
          w, temp_, std::string_view(group_), delivered,
          read ? std::optional<std::int64_t>(e.group.entries_read) : std::nullopt);
      break;
    }
    case rdb::event_type::stream_consumer:
      consumer_.assign(e.consumer.name);
      if (caps_.target_createconsumer) {
        create_consumer_command(w, temp_, std::string_view(group_), std::string_view(consumer_));
      }
      break;
    case rdb::event_type::stream_pending: {
      if (e.pending.consumer.empty()) {
        ++outcome_.lost_pending;  // no consumer owns it (a damaged PEL): XCLAIM needs one
        break;
      }
      const std::string id = e.pending.id.text();
      claims_.push_back(static_cast<std::uint32_t>(commands_.commands()));
      // TIME: the file holds the last delivery as a Unix time, which XCLAIM takes as it is.
      xclaim_command(w, temp_, std::string_view(group_), e.pending.consumer, std::string_view(id),
                     "TIME", e.pending.delivery_time_ms,
                     static_cast<std::int64_t>(e.pending.delivery_count));
      break;
    }
    default:
      break;
  }
  if (commands_.size_bytes() >= sizes_.chunk_bytes ||
      commands_.commands() >= sizes_.max_chunk_elements)
    stream_ready();
}

void event_rebuild::stream_ready() {
  if (commands_.empty()) {
    if (ended_) build_final();
    return;
  }
  writer w{commands_, false};
  w.key_int("PEXPIRE", temp_, sizes_.temp_ttl.count());
  replies_ = commands_.commands();
  phase_ = phase::chunk_write;
  step_ = event_step::target;
}

}  // namespace ferry::engine
