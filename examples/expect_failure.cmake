# cmake -P script for the bad-input tests: runs COMMAND (a ;-list), then checks that
#  - it exited with EXIT_CODE (default 1) and printed one line on stderr matching MESSAGE;
#  - none of the ABSENT paths exists (no output, not even a partial one);
#  - no temporary / staging file is left in the folders listed in CLEAN (*.tmp.*,
#    *.partial-*, .cascadev-staging-*).
# ABSENT paths are removed before the run, so a previous run cannot hide a failure.
# Lists arrive joined with "::" (a ";" would split the -D argument).
foreach(v COMMAND ABSENT CLEAN)
  string(REPLACE "::" ";" ${v} "${${v}}")
endforeach()
if(NOT EXIT_CODE)
  set(EXIT_CODE 1)
endif()
foreach(p IN LISTS ABSENT)
  file(REMOVE_RECURSE "${p}")
endforeach()
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(STRIP "${err}" err)
message(STATUS "exit ${rc}; stderr: ${err}")
if(NOT rc EQUAL EXIT_CODE)
  message(FATAL_ERROR "expected exit code ${EXIT_CODE}, got ${rc}\nstdout: ${out}")
endif()
if(NOT err MATCHES "${MESSAGE}")
  message(FATAL_ERROR "stderr does not match \"${MESSAGE}\"")
endif()
if(err MATCHES "\n")
  message(FATAL_ERROR "the error is not one line")
endif()
foreach(p IN LISTS ABSENT)
  if(EXISTS "${p}")
    message(FATAL_ERROR "output left behind: ${p}")
  endif()
endforeach()
foreach(d IN LISTS CLEAN)
  file(GLOB left "${d}/*.tmp.*" "${d}/.*.partial-*" "${d}/*.partial-*" "${d}/.cascadev-staging-*")
  if(left)
    message(FATAL_ERROR "temporary files left behind: ${left}")
  endif()
endforeach()
