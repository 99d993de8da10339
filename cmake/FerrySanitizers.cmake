# FERRY_SANITIZE builds everything with ASan and UBSan; a UBSan finding aborts the test.
# FERRY_FUZZ builds the libFuzzer targets of tests/fuzz (see FerryFuzz.cmake): every library is
# then instrumented for coverage (fuzzer-no-link) as well as ASan and UBSan, so that the fuzzer
# sees the branches of the parsers it drives and any finding stops the run.
option(FERRY_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only; a build tree of its own)"
       OFF)

if(FERRY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "FERRY_FUZZ needs clang (libFuzzer): configure a separate build tree with "
                        "-DCMAKE_CXX_COMPILER=clang++-16 (cmake/install-deps.sh fuzz installs it)")
  endif()
  # After the build type's flags: assertions stay on (-UNDEBUG) since they are findings too;
  # -O1 and line tables only (enough for the sanitizers' stack traces) keep this third build
  # of the project cheap.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -O1 -gline-tables-only -UNDEBUG)
  add_link_options(-fsanitize=address,undefined)
elseif(FERRY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
