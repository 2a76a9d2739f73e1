# libFuzzer targets for the checkpoint readers, built by run_fuzz.sh with clang++-14
# (-fsanitize=fuzzer,address,undefined) and run for CASCADEV_FUZZ_SECONDS (default 60 s)
# each, seeded from the golden files. Skipped (exit 77) when clang++-14 is missing.
# `ctest -L fuzz` runs only this; `ctest -LE fuzz` leaves it out.
add_test(NAME fuzz.readers
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzz.sh ${CMAKE_CURRENT_BINARY_DIR}/fuzz)
set_tests_properties(fuzz.readers PROPERTIES SKIP_RETURN_CODE 77 LABELS fuzz TIMEOUT 400 RUN_SERIAL TRUE)
