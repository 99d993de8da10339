#include "engine/copy/shard_book.hpp"

namespace ferry::engine {

std::size_t shard_book::add(const shard_position& start, std::uint64_t estimate) {
  entry e{std::make_unique<shard_counters>(), std::make_unique<published_position>(),
          std::make_unique<verify_counters>()};
  e.counters->set(start.done);
  e.counters->estimated = estimate;
  e.position->set(start);
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(e));
  return entries_.size() - 1;
}

shard_run shard_book::run(std::size_t i, protocol::connection_options source,
                          std::uint64_t start_cursor, const counts& start_done,
                          std::shared_ptr<const slot_set> slots, bool rescan) {
  entry& e = at(i);
  return shard_run{i,      std::move(source), start_cursor,     start_done,      std::move(slots),
                   rescan, e.counters.get(),  e.position.get(), e.verified.get()};
}

counts shard_book::total() const {
  std::lock_guard lock(mutex_);
  counts sum;
  for (const auto& e : entries_) sum += e.counters->snapshot();
  return sum;
}

void shard_book::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
}

}  // namespace ferry::engine
