// The ledger commits a SCAN cursor only when everything returned before it is settled.

#include "engine/scan_ledger.hpp"

#include <gtest/gtest.h>

namespace ferry::engine {
namespace {

TEST(scan_ledger, commits_in_order_only) {
  scan_ledger ledger;
  ledger.opened(0, 100);
  ledger.part_sent(0);
  ledger.part_sent(0);
  ledger.closed(0);
  ledger.opened(1, 200);
  ledger.part_sent(1);
  ledger.closed(1);
  EXPECT_EQ(ledger.committed_cursor(), 0u);

  ledger.part_done(1);  // a later call finishing first commits nothing
  EXPECT_EQ(ledger.committed_cursor(), 0u);
  ledger.part_done(0);
  EXPECT_EQ(ledger.committed_cursor(), 0u);  // call 0 still has a part out
  ledger.part_done(0);
  EXPECT_EQ(ledger.committed_cursor(), 200u);  // both calls settle together
  EXPECT_EQ(ledger.open_calls(), 0u);
  EXPECT_FALSE(ledger.complete());
}

TEST(scan_ledger, an_unclosed_call_holds_the_cursor) {
  scan_ledger ledger;
  ledger.opened(0, 5);
  ledger.part_sent(0);
  ledger.part_done(0);  // the scanner may still send more parts of call 0
  EXPECT_EQ(ledger.committed_cursor(), 0u);
  ledger.closed(0);
  EXPECT_EQ(ledger.committed_cursor(), 5u);
}

TEST(scan_ledger, a_call_without_keys_commits_when_closed) {
  scan_ledger ledger(42);
  EXPECT_EQ(ledger.committed_cursor(), 42u);
  ledger.opened(0, 77);
  ledger.closed(0);
  EXPECT_EQ(ledger.committed_cursor(), 77u);
}

TEST(scan_ledger, cursor_zero_at_the_end_means_complete) {
  scan_ledger ledger;
  ledger.opened(0, 9);
  ledger.part_sent(0);
  ledger.closed(0);
  ledger.opened(1, 0);
  ledger.part_sent(1);
  ledger.closed(1);
  ledger.part_done(1);
  EXPECT_FALSE(ledger.complete());
  ledger.part_done(0);
  EXPECT_TRUE(ledger.complete());
  EXPECT_EQ(ledger.committed_cursor(), 0u);
}

TEST(scan_ledger, extra_done_reports_are_ignored) {
  scan_ledger ledger;
  ledger.opened(0, 3);
  ledger.part_sent(0);
  ledger.part_done(0);
  ledger.part_done(0);
  ledger.part_done(7);
  ledger.opened(1, 4);
  ledger.part_sent(1);
  ledger.closed(0);
  ledger.closed(1);
  EXPECT_EQ(ledger.committed_cursor(), 3u);  // call 1's part is still out
}

}  // namespace
}  // namespace ferry::engine
