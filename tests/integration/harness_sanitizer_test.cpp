// The harness's check for sanitizer reports in what `ferry` prints (tests/support/
// sanitizer_report): in the sanitizer tree every ferry run goes through it, so it must find each
// sanitizer's report and must not take ferry's own error messages for one.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/ferry_process.hpp"
#include "tests/support/sanitizer_report.hpp"

namespace ferry::testing {
namespace {

TEST(harness_sanitizer, finds_each_sanitizer_report_from_its_first_line) {
  const std::string ubsan =
      "ferry: copying 10 keys\n"
      "engine/copy/writer.cpp:88:17: runtime error: signed integer overflow: 2147483647 + 1\n"
      "    #0 0x55 in ferry::engine::writer::run\n";
  EXPECT_EQ(sanitizer_report(ubsan).rfind("engine/copy/writer.cpp:88:17: runtime error:", 0), 0u);

  const std::string asan =
      "=================================================================\n"
      "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020\n"
      "READ of size 8 at 0x6020 thread T1\n";
  EXPECT_EQ(sanitizer_report(asan).rfind("==4242==ERROR: AddressSanitizer: heap-use-after-free", 0),
            0u);

  const std::string lsan =
      "==77==ERROR: LeakSanitizer: detected memory leaks\n\nDirect leak of 100 byte(s)\n";
  EXPECT_NE(sanitizer_report(lsan).find("Direct leak of 100 byte(s)"), std::string::npos);

  const std::string long_report = "==1==ERROR: AddressSanitizer: x\n" + std::string(100000, 'a');
  EXPECT_LE(sanitizer_report(long_report).size(), 4096u);
}

TEST(harness_sanitizer, ferrys_own_errors_are_not_reports) {
  EXPECT_EQ(sanitizer_report(""), "");
  EXPECT_EQ(sanitizer_report("ferry copy: error: cannot connect to the target 127.0.0.1:1: "
                             "Connection refused (is the port right?)\n"),
            "");
  EXPECT_EQ(sanitizer_report("ERROR: the state file 'x' is not valid JSON\n"), "");
}

TEST(harness_sanitizer, a_clean_ferry_run_reports_nothing) {
  // The real binary of this tree (instrumented in the sanitizer tree): --help exercises option
  // parsing and a normal exit, including LeakSanitizer's check at exit.
  const ferry_result run = run_ferry({"copy", "--help"});
  EXPECT_EQ(run.exit_code, 0) << run.output();
  EXPECT_EQ(sanitizer_report(run.err), "") << run.output();
}

}  // namespace
}  // namespace ferry::testing
