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
# A new target needs no CMake change: the glob picks it up (CONFIGURE_DEPENDS re-runs it), and
# links ferry_engine. The targets below name what they exercise instead: the few sources under
# test and the layers beneath them, so that the fuzz tree (built with clang by tests/run.sh)
# compiles some 40 files rather than the whole engine a second time.
set(ferry_fuzz_links_endpoint ferry_wire)
set(ferry_fuzz_links_resp_reader ferry_wire)
set(ferry_fuzz_links_rdb_reader ferry_rdb)
set(ferry_fuzz_sources_checkpoint engine/copy/checkpoint.cpp)
set(ferry_fuzz_links_checkpoint ferry_runtime nlohmann_json::nlohmann_json)
set(ferry_fuzz_sources_jwt engine/auth/jwt.cpp)
set(ferry_fuzz_links_jwt ferry_runtime nlohmann_json::nlohmann_json OpenSSL::Crypto)
set(ferry_fuzz_sources_token_output engine/auth/jwt.cpp engine/auth/token_fetch.cpp)
set(ferry_fuzz_links_token_output ferry_runtime nlohmann_json::nlohmann_json OpenSSL::Crypto)

function(ferry_add_fuzzers)
  find_package(nlohmann_json REQUIRED)
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/fuzz/*_fuzz.cpp)
  set(targets)
  foreach(source IN LISTS sources)
    get_filename_component(file_name ${source} NAME_WE)
    string(REGEX REPLACE "_fuzz$" "" name ${file_name})
    set(target fuzz_${name})
    set(extra)
    foreach(file IN LISTS ferry_fuzz_sources_${name})
      list(APPEND extra ${PROJECT_SOURCE_DIR}/${file})
    endforeach()
    add_executable(${target} ${source} ${extra})
    if(DEFINED ferry_fuzz_links_${name})
      target_link_libraries(${target} PRIVATE ${ferry_fuzz_links_${name}} fmt::fmt)
    else()
      target_link_libraries(${target} PRIVATE ferry_engine fmt::fmt)
    endif()
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    ferry_warnings(${target})
    list(APPEND targets ${target})
  endforeach()
  add_custom_target(ferry_fuzzers DEPENDS ${targets})
endfunction()
