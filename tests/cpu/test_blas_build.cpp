// The OpenBLAS a program linking cascadev runs with is the OpenMP build (cascadev's own
// loops use OpenMP; the pthread build fights them for the cores), even where the system's
// default is the pthread build: cmake/cascadevDependencies.cmake puts the OpenMP build's
// folder in the program's RUNPATH.
#include <boost/test/unit_test.hpp>

extern "C" int openblas_get_parallel();  // 0 sequential, 1 pthreads, 2 OpenMP

BOOST_AUTO_TEST_SUITE(blas_build)

BOOST_AUTO_TEST_CASE(openblas_is_the_openmp_build) {
    BOOST_TEST(openblas_get_parallel() == 2, "OpenBLAS parallel mode " << openblas_get_parallel()
                                                  << " (1 = pthread build: install libopenblas-openmp-dev)");
}

BOOST_AUTO_TEST_SUITE_END()
