#include "engine/copy/scan_ledger.hpp"

namespace ferry::engine {

void scan_ledger::opened(std::uint64_t seq, std::uint64_t next_cursor, std::uint64_t scanned) {
  call& c = calls_[seq];
  c.next_cursor = next_cursor;
  c.tally.scanned += scanned;
}

void scan_ledger::part_sent(std::uint64_t seq) { ++calls_[seq].outstanding; }

void scan_ledger::closed(std::uint64_t seq) {
  calls_[seq].closed = true;
  advance();
}

void scan_ledger::part_done(std::uint64_t seq, const counts& settled) {
  auto it = calls_.find(seq);
  if (it == calls_.end() || it->second.outstanding == 0) return;
  --it->second.outstanding;
  it->second.tally += settled;
  advance();
}

void scan_ledger::advance() {
  while (!calls_.empty()) {
    auto first = calls_.begin();
    if (!first->second.closed || first->second.outstanding != 0) return;
    committed_ = first->second.next_cursor;
    committed_counts_ += first->second.tally;
    ++commits_;
    if (committed_ == 0) complete_ = true;
    calls_.erase(first);
  }
}

}  // namespace ferry::engine
