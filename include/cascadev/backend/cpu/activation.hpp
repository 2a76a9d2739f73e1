#pragma once
// Activations with PyTorch's formulas, elementwise on host views (out of place: x may be
// broadcast to y as in elementwise.hpp; in place: *_inplace). Evaluated in float for float
// views as PyTorch's CPU kernels do: SiLU and tanh-GELU on contiguous float views of one
// shape through the vector kernels of vector_math.hpp (the hot case: whole activations),
// everything else through the xtensor adaptors of elementwise.hpp (map).
//   gelu (exact):   0.5 * x * (1 + erf(x / sqrt(2)))
//   gelu (tanh):    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))
//   silu:           x * sigmoid(x) = x / (1 + exp(-x))
#include <cmath>
#include <numbers>

#include "cascadev/backend/cpu/elementwise.hpp"
#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/vector_math.hpp"

namespace cascadev {

/// PyTorch's `approximate` argument of GELU: "none" (erf) or "tanh".
enum class GeluApprox { none, tanh };

template <class T>
inline T gelu_erf_scalar(T x) {
    return T(0.5) * x * (T(1) + std::erf(x * T(std::numbers::sqrt2 / 2)));
}

template <class T>
inline T gelu_tanh_scalar(T x) {
    const T k_beta = T(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
    const T k_kappa = T(0.044715);
    return T(0.5) * x * (T(1) + std::tanh(k_beta * (x + k_kappa * x * x * x)));
}

/// exp(-x) overflows to inf for x < -88 (float); x / inf is then -0, the correct limit.
template <class T>
inline T silu_scalar(T x) {
    return x / (T(1) + std::exp(-x));
}

namespace detail {

/// Runs y = Op(x) through the vector kernels when both are contiguous float views of the
/// same shape; false (nothing done) otherwise.
template <class Op, class Scalar, HostReadable XX, HostWritable XY>
bool vector_activation(XX&& x, XY&& y, Scalar scalar) {
    using VX = host_view_t<XX>;
    using VY = host_view_t<XY>;
    if constexpr (std::is_same_v<host_value_t<XY>, float> && std::is_same_v<host_value_t<XX>, float> &&
                  VX::rank == VY::rank) {
        const auto xv = host_view(x);
        const auto yv = host_view(y);
        if (xv.dims() != yv.dims() || !xv.is_contiguous() || !yv.is_contiguous()) return false;
        vmath::apply<Op>(xv.data(), yv.data(), std::size_t(yv.size()), scalar);
        return true;
    } else {
        return false;
    }
}

}  // namespace detail

/// y = gelu(x), exact (erf) unless approx == GeluApprox::tanh.
template <HostReadable XX, HostWritable XY>
void gelu(XX&& x, XY&& y, GeluApprox approx = GeluApprox::none) {
    using T = host_value_t<XY>;
    if (approx == GeluApprox::tanh) {
        if (!detail::vector_activation<detail::vmath::GeluTanh>(x, y, gelu_tanh_scalar<float>))
            map(x, y, [](T v) -> T { return gelu_tanh_scalar(v); });
    } else {
        map(x, y, [](T v) -> T { return gelu_erf_scalar(v); });
    }
}
template <HostWritable XY>
void gelu_inplace(XY&& x, GeluApprox approx = GeluApprox::none) {
    const auto v = host_view(x);
    gelu(v, v, approx);
}

/// y = gelu(x) with the tanh approximation (PyTorch's approximate="tanh").
template <HostReadable XX, HostWritable XY>
void gelu_tanh(XX&& x, XY&& y) { gelu(x, y, GeluApprox::tanh); }
template <HostWritable XY>
void gelu_tanh_inplace(XY&& x) { gelu_inplace(x, GeluApprox::tanh); }

/// y = silu(x) = x * sigmoid(x).
template <HostReadable XX, HostWritable XY>
void silu(XX&& x, XY&& y) {
    using T = host_value_t<XY>;
    if (!detail::vector_activation<detail::vmath::Silu>(x, y, silu_scalar<float>))
        map(x, y, [](T v) -> T { return silu_scalar(v); });
}
template <HostWritable XY>
void silu_inplace(XY&& x) {
    const auto v = host_view(x);
    silu(v, v);
}

/// y = max(y, 0) in place (NaN stays NaN, as torch.relu).
template <HostWritable XY>
void relu_inplace(XY&& y) {
    using T = host_value_t<XY>;
    map_inplace(y, [](T v) -> T { return v < T(0) ? T(0) : v; });
}

}  // namespace cascadev
