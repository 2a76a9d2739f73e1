# compile-fail tests: each tests/compile_fail/<name>.cpp except the control must FAIL to
# compile with the static_assert text given below. Each becomes an EXCLUDE_FROM_ALL object
# library (so a normal build never tries it) and a CTest test that builds that one target;
# the test passes only when the build output contains the expected message (a build that
# succeeds, or fails for another reason, does not match and the test fails).
# control_compiles.cpp uses the same mechanism and must build, proving the harness works.

set(_cf_dir ${CMAKE_CURRENT_LIST_DIR})

function(cascadev_compile_test name expect)
  set(_target compile_fail_${name})
  add_library(${_target} OBJECT EXCLUDE_FROM_ALL ${_cf_dir}/${name}.cpp)
  target_link_libraries(${_target} PRIVATE cascadev::cascadev)
  set(_cmd ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target ${_target})
  if(CMAKE_CONFIGURATION_TYPES)
    list(APPEND _cmd --config $<CONFIG>)
  endif()
  add_test(NAME compile_fail.${name} COMMAND ${_cmd})
  if(expect STREQUAL "COMPILES")
    # Must build; a failure (non-zero exit) fails the test.
    set_tests_properties(compile_fail.${name} PROPERTIES LABELS compile_fail)
  else()
    # Must fail with the readable message. PASS_REGULAR_EXPRESSION ignores the exit
    # code, but a successful build cannot print the static_assert text.
    set_tests_properties(compile_fail.${name} PROPERTIES
      LABELS compile_fail
      PASS_REGULAR_EXPRESSION "${expect}")
  endif()
  # The builds share the build tree: never run two of them (or a build) at once.
  set_tests_properties(compile_fail.${name} PROPERTIES RUN_SERIAL TRUE)
endfunction()

cascadev_compile_test(static_extent_mismatch "static.assert.*failed.*cascadev: static extent mismatch")
cascadev_compile_test(reshape_static_count "static.assert.*failed.*cascadev: reshape changes the element count")
cascadev_compile_test(control_compiles COMPILES)
