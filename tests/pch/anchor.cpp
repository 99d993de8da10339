// The one source of the test programs' precompiled-header targets (tests/CMakeLists.txt,
// ferry_add_tests): CMake builds a label's header alongside it, and every test program of the
// label reuses that header. Nothing else is compiled here.
