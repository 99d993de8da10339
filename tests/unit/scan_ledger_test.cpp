// The ledger commits a SCAN cursor only when everything returned before it is settled.

#include "engine/copy/scan_ledger.hpp"

#include <gtest/gtest.h>

namespace ferry::engine {
namespace {

TEST(scan_ledger, commits_in_order_only) {
  scan_ledger ledger;
  ledger.opened(0, 100, 0);
  ledger.part_sent(0);
  ledger.part_sent(0);
  ledger.closed(0);
  ledger.opened(1, 200, 0);
  ledger.part_sent(1);
  ledger.closed(1);
  EXPECT_EQ(ledger.committed_cursor(), 0u);

  ledger.part_done(1, {});  // a later call finishing first commits nothing
  EXPECT_EQ(ledger.committed_cursor(), 0u);
  ledger.part_done(0, {});
  EXPECT_EQ(ledger.committed_cursor(), 0u);  // call 0 still has a part out
  ledger.part_done(0, {});
  EXPECT_EQ(ledger.committed_cursor(), 200u);  // both calls settle together
  EXPECT_EQ(ledger.open_calls(), 0u);
  EXPECT_FALSE(ledger.complete());
}

TEST(scan_ledger, an_unclosed_call_holds_the_cursor) {
  scan_ledger ledger;
  ledger.opened(0, 5, 0);
  ledger.part_sent(0);
  ledger.part_done(0, {});  // the scanner may still send more parts of call 0
  EXPECT_EQ(ledger.committed_cursor(), 0u);
  ledger.closed(0);
  EXPECT_EQ(ledger.committed_cursor(), 5u);
}

TEST(scan_ledger, a_call_without_keys_commits_when_closed) {
  scan_ledger ledger(42);
  EXPECT_EQ(ledger.committed_cursor(), 42u);
  ledger.opened(0, 77, 0);
  ledger.closed(0);
  EXPECT_EQ(ledger.committed_cursor(), 77u);
}

TEST(scan_ledger, cursor_zero_at_the_end_means_complete) {
  scan_ledger ledger;
  ledger.opened(0, 9, 0);
  ledger.part_sent(0);
  ledger.closed(0);
  ledger.opened(1, 0, 0);
  ledger.part_sent(1);
  ledger.closed(1);
  ledger.part_done(1, {});
  EXPECT_FALSE(ledger.complete());
  ledger.part_done(0, {});
  EXPECT_TRUE(ledger.complete());
  EXPECT_EQ(ledger.committed_cursor(), 0u);
}

TEST(scan_ledger, extra_done_reports_are_ignored) {
  scan_ledger ledger;
  ledger.opened(0, 3, 0);
  ledger.part_sent(0);
  ledger.part_done(0, {});
  ledger.part_done(0, {});
  ledger.part_done(7, {});
  ledger.opened(1, 4, 0);
  ledger.part_sent(1);
  ledger.closed(0);
  ledger.closed(1);
  EXPECT_EQ(ledger.committed_cursor(), 3u);  // call 1's part is still out
}

TEST(scan_ledger, counts_are_committed_with_their_cursor) {
  scan_ledger ledger(10, counts{.scanned = 5, .copied = 5});
  ledger.opened(0, 20, 3);
  ledger.part_sent(0);
  ledger.closed(0);
  ledger.opened(1, 30, 2);
  ledger.part_sent(1);
  ledger.closed(1);
  ledger.part_done(1, counts{.copied = 1, .vanished = 1});
  // Call 1 is settled but call 0 is not: nothing of either is committed yet.
  EXPECT_EQ(ledger.committed_counts().scanned, 5u);
  ledger.part_done(0, counts{.copied = 2, .failed = 1, .bytes = 300});
  EXPECT_EQ(ledger.committed_cursor(), 30u);
  const counts& c = ledger.committed_counts();
  EXPECT_EQ(c.scanned, 10u);
  EXPECT_EQ(c.copied, 8u);
  EXPECT_EQ(c.vanished, 1u);
  EXPECT_EQ(c.failed, 1u);
  EXPECT_EQ(c.bytes, 300u);
  EXPECT_EQ(ledger.commits(), 2u);
}

}  // namespace
}  // namespace ferry::engine
