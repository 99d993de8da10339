#include "engine/import/batch_builder.hpp"

#include <memory>

#include "protocol/wire/key_slot.hpp"

namespace ferry::engine {

void batch_builder::add(std::string_view key, std::string& payload, std::int64_t expire_at_ms) {
  if (arena_.capacity() == 0) arena_.reserve(last_arena_bytes_ + last_arena_bytes_ / 8);
  entry e;
  e.key_at = arena_.size();
  e.key_size = key.size();
  arena_.append(key);
  e.payload_size = payload.size();
  if (payload.size() >= own_buffer_bytes_) {
    e.own = owned_.size();
    owned_.push_back(std::move(payload));
    payload.clear();
  } else {
    e.payload_at = arena_.size();
    arena_.append(payload);
  }
  e.expire_at_ms = expire_at_ms;
  entries_.push_back(e);
  bytes_ += key.size() + e.payload_size;
}

record_batch batch_builder::seal(std::uint64_t seq) {
  record_batch batch;
  batch.scan_seq = seq;
  batch.charged_bytes = bytes_;
  batch.records.reserve(entries_.size());
  // Views are made only now: the arena may have moved while it grew.
  last_arena_bytes_ = arena_.size();
  const auto arena = std::make_shared<const std::string>(std::move(arena_));
  std::vector<std::shared_ptr<const std::string>> owned;
  owned.reserve(owned_.size());
  for (auto& buffer : owned_)
    owned.push_back(std::make_shared<const std::string>(std::move(buffer)));
  for (const entry& e : entries_) {
    protocol::bytes key(arena, arena->data() + e.key_at, e.key_size);
    protocol::bytes payload =
        e.own == SIZE_MAX ? protocol::bytes(arena, arena->data() + e.payload_at, e.payload_size)
                          : protocol::bytes(owned[e.own], owned[e.own]->data(), e.payload_size);
    const std::uint16_t slot = protocol::key_slot(key.view());
    batch.records.push_back(
        {std::move(key), std::move(payload), e.expire_at_ms, slot, record_kind::restore});
  }
  arena_ = std::string();
  owned_.clear();
  entries_.clear();
  bytes_ = 0;
  return batch;
}

}  // namespace ferry::engine
