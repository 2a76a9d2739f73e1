// test_cuda's main: skips (exit 77, CTest's SKIP_RETURN_CODE) when no CUDA device is
// present, before Boost.Test starts; otherwise runs the test cases of tests/cuda/*.cu.
#define BOOST_TEST_MODULE cascadev cuda
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <cuda_runtime_api.h>

#include <cstdio>

int main(int argc, char* argv[]) {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        std::printf("no CUDA device: skipping (%s)\n",
                    err != cudaSuccess ? cudaGetErrorString(err) : "cudaGetDeviceCount returned 0");
        std::fflush(stdout);
        return 77;
    }
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
        std::printf("CUDA device 0: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
    std::fflush(stdout);
    return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}
