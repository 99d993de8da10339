#pragma once
// The integration tests' verdict on a copy, by the independent oracle (never ferry's counters).

#include "tests/support/sync_client.hpp"

namespace ferry::testing {

/// Source and target compared by the oracle: the whole canonical keyspace (type, value, absolute
/// expiry) must be equal and not empty and, when `digest` (both hold one database, since
/// DEBUG DIGEST mixes in db numbers), DEBUG DIGEST too. Reports through GoogleTest.
void expect_exact_copy(key_router& source, key_router& target, bool digest = true);

}  // namespace ferry::testing
