#pragma once
// Finding a sanitizer's report in what a program printed. In the sanitizer build tree
// (FERRY_SANITIZE=ON) the `ferry` binary the integration tests run is instrumented too; its
// AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer reports go to its stderr, and
// an exit code alone cannot tell them from ferry's own (1 = "some keys failed"). So every run
// is checked here and a report fails the test that ran it.

#include <string>
#include <string_view>

namespace ferry::testing {

/// The first sanitizer report in `output` (from its "ERROR: AddressSanitizer",
/// "ERROR: LeakSanitizer" or "runtime error:" line, at most 4 KiB of it), or "" when there is
/// none.
std::string sanitizer_report(std::string_view output);

}  // namespace ferry::testing
