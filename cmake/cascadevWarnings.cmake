# Warnings for the project's own executables (not imposed on users of the library).
add_library(cascadev_warnings INTERFACE)
target_compile_options(cascadev_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall --expt-relaxed-constexpr>)

# cascadev_executable(NAME SOURCES...): an example/tool linked to the library.
function(cascadev_executable name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE cascadev::cascadev cascadev_warnings)
endfunction()
