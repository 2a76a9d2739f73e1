#pragma once
// Runs a test body with a given OpenMP thread count and restores the previous count
// afterwards (also when the body throws). Without OpenMP it just runs the body.
#ifdef _OPENMP
#include <omp.h>
#endif

namespace cascadev::testing {

template <class F>
auto with_omp_threads([[maybe_unused]] int threads, F&& f) {
#ifdef _OPENMP
    struct Restore {
        int saved = omp_get_max_threads();
        ~Restore() { omp_set_num_threads(saved); }
    } restore;
    omp_set_num_threads(threads);
#endif
    return f();
}

}  // namespace cascadev::testing
