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
