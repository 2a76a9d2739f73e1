# Golden cases as CTest tests, one per case folder, run by cascadev-golden.
#  - tests/golden/components: vendored cases; each must pass.
#  - ../shared/golden/components (when present) and $CASCADEV_GOLDEN_LARGE: every case;
#    a specified component the runner does not implement yet exits 77 and shows as skipped.
function(cascadev_golden_cases root prefix)
  file(GLOB_RECURSE _jsons CONFIGURE_DEPENDS "${root}/*/case.json")
  foreach(_json IN LISTS _jsons)
    get_filename_component(_dir "${_json}" DIRECTORY)
    file(RELATIVE_PATH _rel "${root}" "${_dir}")
    string(REPLACE "/" "." _name "${_rel}")
    add_test(NAME ${prefix}.${_name} COMMAND cascadev-golden "${_dir}")
    set_tests_properties(${prefix}.${_name} PROPERTIES LABELS golden)
    if(ARGN)
      set_tests_properties(${prefix}.${_name} PROPERTIES SKIP_RETURN_CODE 77)
    endif()
  endforeach()
endfunction()

cascadev_golden_cases(${CMAKE_CURRENT_SOURCE_DIR}/golden/components golden)
get_filename_component(CASCADEV_SHARED_GOLDEN "${PROJECT_SOURCE_DIR}/../shared/golden/components" ABSOLUTE)
if(EXISTS "${CASCADEV_SHARED_GOLDEN}")
  cascadev_golden_cases(${CASCADEV_SHARED_GOLDEN} shared ALLOW_SKIP)
endif()
if(DEFINED ENV{CASCADEV_GOLDEN_LARGE} AND EXISTS "$ENV{CASCADEV_GOLDEN_LARGE}")
  cascadev_golden_cases("$ENV{CASCADEV_GOLDEN_LARGE}" large ALLOW_SKIP)
endif()

# The runner's own behaviour: tampered cases fail, unknown components are errors.
cascadev_area_test(golden)
if(TARGET test_golden)
  target_compile_definitions(test_golden PRIVATE CASCADEV_GOLDEN_EXE="$<TARGET_FILE:cascadev-golden>")
  add_dependencies(test_golden cascadev-golden)
endif()
