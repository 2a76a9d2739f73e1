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
# workers for the cores (models several times slower). Debian selects the pthread build by
# default and other programs (PyTorch) want it, so rather than changing the system's
# choice, programs linking cascadev find OpenBLAS's OpenMP build first through their
# RUNPATH (CASCADEV_BLAS_RUNPATH, added to cascadev's link options) when it is installed
# (libopenblas-openmp-dev). Both builds have the same soname, libopenblas.so.0.
set(CASCADEV_BLAS_RUNPATH "")
foreach(_lib IN LISTS BLAS_LIBRARIES)
  get_filename_component(_real "${_lib}" REALPATH)
  if(_real MATCHES "openblas-pthread")
    string(REPLACE "openblas-pthread" "openblas-openmp" _omp_lib "${_real}")
    get_filename_component(_omp_dir "${_omp_lib}" DIRECTORY)
    if(EXISTS "${_omp_dir}/libopenblas.so.0")
      set(CASCADEV_BLAS_RUNPATH "${_omp_dir}")
    else()
      message(WARNING "cascadev: only the pthread build of OpenBLAS is installed (${_real}); models run "
        "several times slower next to OpenMP. Install libopenblas-openmp-dev (see .ci/install-deps).")
    endif()
  endif()
endforeach()

# FFmpeg (optional): only cascadev::video_io (video/video_io.hpp: decoding, mp4/png
# writing) needs it; the core library never does. Found through pkg-config, here and in
# the installed package config alike, as the imported target PkgConfig::CASCADEV_FFMPEG.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(CASCADEV_FFMPEG QUIET IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
endif()
