#pragma once
// Shared by the CUDA tests (nvcc: Boost.Test's variadic BOOST_TEST is unavailable there, so
// BOOST_CHECK / BOOST_CHECK_MESSAGE): random host inputs and a tolerance check against naive
// double-precision host loops (every kernel has such a twin).
#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "cascadev/backend/cuda.cuh"
#include "cascadev/core.hpp"

namespace cascadev_test {

using Dev = cascadev::cuda;  // spelled out: `cuda` alone would also name CUDA's own ::cuda namespace
using cascadev::bfloat16;
using cascadev::DExtents;
using cascadev::float16;
using cascadev::Tensor;

using float_types = boost::mpl::list<float, bfloat16, float16>;

/// Storage value as double (exactly).
template <class T>
double value(T v) { return double(float(v)); }

/// Uniform random values in [lo, hi), rounded to T.
template <class T, cascadev::ExtentsType E>
void fill_random(Tensor<T, E>& t, unsigned seed, float lo = -4.0f, float hi = 4.0f) {
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (std::int64_t i = 0; i < t.size(); ++i) t.data()[i] = T(dist(gen));
}

template <class T>
Tensor<T, DExtents<1>> random_vector(std::int64_t n, unsigned seed, float lo = -4.0f, float hi = 4.0f) {
    Tensor<T, DExtents<1>> t(n);
    fill_random(t, seed, lo, hi);
    return t;
}

/// Relative tolerance for results stored as T: twice the worst rounding to T (the result is
/// rounded once; float math adds a few float ulps, which can tip a value over a midpoint).
template <class T>
constexpr double rtol_of() {
    if constexpr (std::is_same_v<T, bfloat16>) return 1.0 / 128;
    else if constexpr (std::is_same_v<T, float16>) return 1.0 / 1024;
    else return 1e-5;
}
/// Absolute floor: f16 results below 6e-5 are subnormal (spacing 6e-8).
template <class T>
constexpr double atol_of() { return std::is_same_v<T, float16> ? 1e-7 : 1e-8; }

/// Checks got[i] against ref[i] (|got - ref| <= atol + rtol |ref|, NaN never passes);
/// reports how many differ and the worst one.
template <class T>
void check_close(const T* got, const std::vector<double>& ref, double rtol, double atol, const std::string& what) {
    std::size_t bad = 0, worst = 0;
    double worst_excess = -1;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const double g = value(got[i]);
        const double err = std::abs(g - ref[i]);
        const double limit = atol + rtol * std::abs(ref[i]);
        const bool ok = err <= limit;  // false for NaN
        if (!ok) ++bad;
        const double excess = std::isnan(err) ? INFINITY : err - limit;
        if (excess > worst_excess) { worst_excess = excess; worst = i; }
    }
    std::ostringstream msg;
    msg << what << ": " << bad << " of " << ref.size() << " elements out of tolerance";
    if (!ref.empty())
        msg << "; worst at " << worst << ": got " << value(got[worst]) << ", expected " << ref[worst];
    BOOST_CHECK_MESSAGE(bad == 0u, msg.str());
}

}  // namespace cascadev_test
