#include "engine/copy/shard_book.hpp"

namespace ferry::engine {

std::size_t shard_book::add(const shard_position& start, std::uint64_t estimate,
                            std::string source) {
  entry e{std::make_unique<shard_counters>(),
          std::make_unique<published_position>(),
          std::make_unique<verify_counters>(),
          std::make_unique<shard_meters>(),
          std::move(source),
          false};
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
  std::lock_guard lock(mutex_);
  entry& e = entries_[i];
  if (e.source.empty()) e.source = source.where.address();
  e.rescan = rescan;
  shard_run run{i,      std::move(source), start_cursor,     start_done,      std::move(slots),
                rescan, e.counters.get(),  e.position.get(), e.verified.get()};
  run.meters = e.meters.get();
  return run;
}

std::vector<shard_snapshot> shard_book::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<shard_snapshot> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_) {
    out.push_back({e.source, e.rescan, e.counters->snapshot(), e.position->get().complete,
                   e.meters->reads.snapshot(), e.meters->writes.snapshot(),
                   e.meters->source.snapshot(), e.meters->target.snapshot()});
  }
  return out;
}

verify_counts shard_book::verified_total() const {
  std::lock_guard lock(mutex_);
  verify_counts sum;
  for (const auto& e : entries_) sum += e.verified->snapshot();
  return sum;
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
