# The CUDA backend's tests: included from tests/CMakeLists.txt when CASCADEV_CUDA=ON.
# Kernels and Boost.Test cases live in tests/cuda/*.cu (nvcc); the main (main.cpp, g++)
# exits with 77 when no CUDA device is present, which CTest reports as skipped. CI (no
# GPU) builds this; a machine with a GPU runs it.
file(GLOB _cascadev_cuda_test_srcs CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_LIST_DIR}/*.cu ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
add_executable(test_cuda ${_cascadev_cuda_test_srcs})
target_link_libraries(test_cuda PRIVATE cascadev::cascadev cascadev_warnings
  Boost::unit_test_framework CUDA::cudart)
target_compile_definitions(test_cuda PRIVATE BOOST_TEST_DYN_LINK)
add_test(NAME cuda COMMAND test_cuda --log_level=test_suite)
set_tests_properties(cuda PROPERTIES SKIP_RETURN_CODE 77)
