#include "engine/verify/payload_digest.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/verify/digest_scripts.hpp"
#include "engine/verify/verdict.hpp"
#include "protocol/rdb/decode.hpp"

namespace ferry::engine {

namespace rdb = protocol::rdb;

namespace {

/// The hashed text: every part length-prefixed ("<length>:<bytes>"), so parts never run together.
class canonical_text {
 public:
  explicit canonical_text(std::string_view type) {
    text_ = "ferry-canonical-1|";
    text_.append(type);
    text_ += '|';
  }
  void put(std::string_view part) {
    text_ += std::to_string(part.size());
    text_ += ':';
    text_.append(part);
  }
  void put(std::uint64_t n) { put(std::string_view(std::to_string(n))); }
  void put(std::int64_t n) { put(std::string_view(std::to_string(n))); }
  void put(const rdb::stream_id& id) { put(std::string_view(id.text())); }
  std::string digest() const { return sha1_hex(text_); }

 private:
  std::string text_;
};

/// A hash field with its value and expiry (0: none).
struct field_entry {
  std::string name;
  std::string value;
  std::int64_t expire_ms = 0;
};

/// A zset member and its score.
struct member_entry {
  std::string name;
  double score = 0;
};

/// A consumer group as the stream digest needs it: everything but times.
struct group_entry {
  std::string name;
  rdb::stream_id last_delivered;
  std::int64_t entries_read = -1;
  std::uint64_t pending = 0;
  std::vector<std::pair<std::string, std::uint64_t>> consumers;  // name, pending
  struct pel_entry {
    rdb::stream_id id;
    std::string owner;
    std::uint64_t deliveries = 0;
  };
  std::vector<pel_entry> pel;
};

/// Appends an item's piece to `items`, starting a new item on its first piece.
void take_piece(std::vector<std::string>& items, const rdb::value_event& e) {
  if (e.first_piece() || items.empty()) items.emplace_back();
  items.back().append(e.data);
}

std::string stream_digest(std::vector<std::string>& entries, const rdb::stream_meta_info& meta,
                          std::vector<group_entry>& groups, payload_digest_options options) {
  canonical_text out("stream");
  out.put(std::uint64_t{entries.size()});
  for (const std::string& entry : entries) out.put(entry);
  out.put(meta.length);
  out.put(meta.last_id);
  if (options.stream_v7) {
    out.put(meta.max_deleted_id);
    out.put(meta.entries_added);
  }
  std::sort(groups.begin(), groups.end(),
            [](const group_entry& a, const group_entry& b) { return a.name < b.name; });
  out.put(std::uint64_t{groups.size()});
  for (group_entry& g : groups) {
    out.put(g.name);
    out.put(g.last_delivered);
    out.put(g.pending);
    out.put(std::uint64_t{g.consumers.size()});
    if (options.stream_v7) out.put(g.entries_read);
    std::sort(g.consumers.begin(), g.consumers.end());
    for (const auto& [name, pending] : g.consumers) {
      out.put(name);
      out.put(pending);
    }
    std::sort(g.pel.begin(), g.pel.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    out.put(std::uint64_t{g.pel.size()});
    for (const auto& p : g.pel) {
      out.put(p.id);
      out.put(p.owner);
      out.put(p.deliveries);
    }
  }
  return out.digest();
}

}  // namespace

std::optional<std::string> payload_canonical_digest(std::string_view payload,
                                                    payload_digest_options options) {
  auto decoder = rdb::value_decoder::from_payload(payload);
  if (!decoder) return std::nullopt;
  rdb::value_kind kind = rdb::value_kind::module;
  std::vector<std::string> items;  // string pieces, list elements, set members, stream entries
  std::vector<field_entry> fields;
  std::vector<member_entry> members;
  rdb::stream_meta_info meta;
  std::vector<group_entry> groups;
  for (;;) {
    auto next = decoder->next();
    if (!next) return std::nullopt;
    const rdb::value_event* e = *next;
    if (e == nullptr || e->type == rdb::event_type::end) break;
    switch (e->type) {
      case rdb::event_type::begin:
        kind = e->kind;
        if (kind == rdb::value_kind::module) return std::nullopt;
        break;
      case rdb::event_type::string_piece:
      case rdb::event_type::element:
        take_piece(items, *e);
        break;
      case rdb::event_type::zset_member:
        members.push_back({std::string(e->data), e->score});
        break;
      case rdb::event_type::hash_field:
        fields.push_back({std::string(e->data), {}, 0});
        break;
      case rdb::event_type::hash_value:
        if (fields.empty()) return std::nullopt;
        fields.back().value.append(e->data);
        break;
      case rdb::event_type::hash_field_expiry:
        if (fields.empty()) return std::nullopt;
        fields.back().expire_ms = e->expire_ms;
        break;
      case rdb::event_type::stream_entry: {
        canonical_text entry("entry");
        entry.put(e->id);
        entry.put(std::uint64_t{e->fields.size()});
        for (std::string_view part : e->fields) entry.put(part);
        items.push_back(entry.digest());
        break;
      }
      case rdb::event_type::stream_meta:
        meta = e->meta;
        break;
      case rdb::event_type::stream_group:
        groups.push_back({std::string(e->group.name),
                          e->group.last_delivered_id,
                          e->group.entries_read,
                          e->group.pending,
                          {},
                          {}});
        break;
      case rdb::event_type::stream_consumer:
        if (groups.empty()) return std::nullopt;
        groups.back().consumers.emplace_back(std::string(e->consumer.name), e->consumer.pending);
        break;
      case rdb::event_type::stream_pending:
        if (groups.empty()) return std::nullopt;
        groups.back().pel.push_back(
            {e->pending.id, std::string(e->pending.consumer), e->pending.delivery_count});
        break;
      default:
        break;
    }
  }
  switch (kind) {
    case rdb::value_kind::string: {
      std::string value;
      for (const std::string& piece : items) value += piece;
      return string_digest(value);  // as the direct string reads and both scripts give it
    }
    case rdb::value_kind::list:
    case rdb::value_kind::set: {
      if (kind == rdb::value_kind::set) std::sort(items.begin(), items.end());
      canonical_text out(kind == rdb::value_kind::set ? "set" : "list");
      out.put(std::uint64_t{items.size()});
      for (const std::string& item : items) out.put(item);
      return out.digest();
    }
    case rdb::value_kind::zset: {
      std::sort(members.begin(), members.end(),
                [](const member_entry& a, const member_entry& b) { return a.name < b.name; });
      canonical_text out("zset");
      out.put(std::uint64_t{members.size()});
      for (const member_entry& m : members) {
        out.put(m.name);
        out.put(std::string_view(fmt::format("{:.17g}", m.score)));
      }
      return out.digest();
    }
    case rdb::value_kind::hash: {
      std::sort(fields.begin(), fields.end(),
                [](const field_entry& a, const field_entry& b) { return a.name < b.name; });
      canonical_text out("hash");
      out.put(std::uint64_t{fields.size()});
      for (const field_entry& f : fields) {
        out.put(f.name);
        out.put(f.value);
        out.put(f.expire_ms);
      }
      return out.digest();
    }
    case rdb::value_kind::stream:
      return stream_digest(items, meta, groups, options);
    default:
      return std::nullopt;
  }
}

}  // namespace ferry::engine
