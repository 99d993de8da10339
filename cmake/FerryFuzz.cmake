# libFuzzer targets: every tests/fuzz/<name>_fuzz.cpp (which defines LLVMFuzzerTestOneInput)
# becomes the executable fuzz_<name>, linked with -fsanitize=fuzzer against the project's
# libraries (instrumented by FerrySanitizers.cmake when FERRY_FUZZ is on). Its seed corpus is
# tests/fuzz/corpus/<name>/ and its dictionary, when there is one, tests/fuzz/<name>.dict.
#
#   cmake -S . -B build/fuzz -DFERRY_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-16 \
#         -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_BUILD_BENCH=OFF
#   cmake --build build/fuzz --target ferry_fuzzers -j2
#   tests/fuzz/run.sh build/fuzz 60          # every target for 60 s; non-zero on a finding
#
# A new target needs no CMake change: the glob picks it up (CONFIGURE_DEPENDS re-runs it).
function(ferry_add_fuzzers)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/*_fuzz.cpp)
  set(targets)
  foreach(source IN LISTS sources)
    get_filename_component(file_name ${source} NAME_WE)
    string(REGEX REPLACE "_fuzz$" "" name ${file_name})
    set(target fuzz_${name})
    add_executable(${target} ${source})
    target_link_libraries(${target} PRIVATE ferry_engine fmt::fmt)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    ferry_warnings(${target})
    list(APPEND targets ${target})
  endforeach()
  add_custom_target(ferry_fuzzers DEPENDS ${targets})
endfunction()
