# The library's dependencies, shared by the build and by the installed package config
# (so that find_package(cascadev) finds exactly what the build used).
include(CMakeFindDependencyMacro)
if(NOT DEFINED BLA_VENDOR)
  set(BLA_VENDOR OpenBLAS)
endif()
find_dependency(BLAS)
find_dependency(xtensor)
find_dependency(nlohmann_json 3)
find_dependency(OpenMP)

# cascadev's loops use OpenMP; OpenBLAS's pthread build then fights GNU OpenMP's spinning
# workers for the cores. Say so when that build is the one found.
foreach(_lib IN LISTS BLAS_LIBRARIES)
  get_filename_component(_real "${_lib}" REALPATH)
  if(_real MATCHES "openblas-pthread")
    message(WARNING "cascadev: the pthread build of OpenBLAS is selected (${_real}); models run "
      "several times slower next to OpenMP. Install libopenblas-openmp-dev and select it with "
      "update-alternatives (see .ci/install-deps).")
  endif()
endforeach()
