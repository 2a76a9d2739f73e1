#pragma once
// LayerNorm over the last dim and GroupNorm over [N, C, *], as PyTorch defines them:
// biased variance (divide by the element count), y = (x - mean) / sqrt(var + eps) * w + b.
//
// Statistics are two-pass (mean, then the mean squared deviation) with double accumulators:
// one-pass E[x^2] - E[x]^2 cancels catastrophically when |mean| >> std, and float sums
// over a whole GroupNorm group (C/G * T*H*W elements, easily 10^6) lose digits.
//
// x and y may be strided or permuted, and y may be x itself (in place). Rows (LayerNorm)
// or (sample, group) pairs (GroupNorm) are independent and split over OpenMP threads;
// each is reduced by one thread in a fixed order, so results do not depend on threads.
// A null (default-constructed) weight or bias view means "none" (elementwise_affine=False).
#include <array>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

namespace detail {

template <class VA, class VB>
constexpr bool static_same_shape() {
    return VA::rank == VB::rank &&
           static_compatible<VA::rank>(VA::extents_type::static_extents, VB::extents_type::static_extents);
}

template <class V>
bool present(const V& v) { return v.data() != nullptr && v.size() != 0; }

template <class V>
std::string shape_or_none(const V& v) { return present(v) ? v.extents().str() : std::string("none"); }

}  // namespace detail

/// LayerNorm over the last dim of x [..., C] with optional affine weight [C] and bias [C]
/// (pass a default-constructed view for "none"); y has x's shape.
template <HostReadable XX, HostReadable XW, HostReadable XB, HostWritable XY>
void layer_norm(XX&& x, XW&& weight, XB&& bias, XY&& y, double eps = 1e-5) {
    using T = host_value_t<XY>;
    using VX = host_view_t<XX>;
    using VW = host_view_t<XW>;
    using VB = host_view_t<XB>;
    using VY = host_view_t<XY>;
    constexpr std::size_t R = VX::rank;
    static_assert(R >= 1, "cascadev::layer_norm: x needs at least one dim");
    static_assert(detail::static_same_shape<VX, VY>(), "cascadev::layer_norm: x and y must have the same shape");
    static_assert(VW::rank == 1 && VB::rank == 1, "cascadev::layer_norm: weight and bias are [C]");
    static_assert(detail::compatible(VW::extents_type::static_extent(0), VX::extents_type::static_extent(R - 1)) &&
                      detail::compatible(VB::extents_type::static_extent(0), VX::extents_type::static_extent(R - 1)),
                  "cascadev::layer_norm: static mismatch between weight/bias and x's last dim");

    const auto xv = host_cview(x);
    const auto wv = host_cview(weight);
    const auto bv = host_cview(bias);
    const auto yv = host_view(y);
    const index_t C = xv.extent(R - 1);
    const bool has_w = detail::present(wv), has_b = detail::present(bv);
    if (xv.dims() != yv.dims() || (has_w && wv.extent(0) != C) || (has_b && bv.extent(0) != C))
        fail("layer_norm: shape mismatch: x ", xv.extents().str(), ", weight ", detail::shape_or_none(wv),
             ", bias ", detail::shape_or_none(bv), ", y ", yv.extents().str(),
             "; need weight and bias [C] for x [..., C] and y of x's shape");
    if (C == 0) return;

    const detail::RowOffsets<R> xr(xv), yr(yv);
    const index_t sx = xr.inner_stride(), sy = yr.inner_stride();
    const index_t sw = has_w ? wv.stride(0) : 0, sb = has_b ? bv.stride(0) : 0;
    parallel_for(xr.rows(), 3 * C, [&](index_t r) {
        const auto* xp = xv.data() + xr.offset(r);
        T* yp = yv.data() + yr.offset(r);
        double sum = 0;
        for (index_t i = 0; i < C; ++i) sum += double(xp[i * sx]);
        const double mean = sum / double(C);
        double sq = 0;
        for (index_t i = 0; i < C; ++i) {
            const double d = double(xp[i * sx]) - mean;
            sq += d * d;
        }
        const double rstd = 1.0 / std::sqrt(sq / double(C) + eps);
        for (index_t i = 0; i < C; ++i) {
            double v = (double(xp[i * sx]) - mean) * rstd;
            if (has_w) v *= double(wv.data()[i * sw]);
            if (has_b) v += double(bv.data()[i * sb]);
            yp[i * sy] = T(v);
        }
    });
}

/// LayerNorm without affine parameters (PyTorch's elementwise_affine=False).
template <HostReadable XX, HostWritable XY>
void layer_norm(XX&& x, XY&& y, double eps = 1e-5) {
    using T = host_value_t<XY>;
    layer_norm(x, View<const T, DExtents<1>, cpu>(), View<const T, DExtents<1>, cpu>(), y, eps);
}

/// GroupNorm of x [N, C, *] (any number of trailing dims, e.g. [N, C, T, H, W]) in
/// num_groups groups of C / num_groups channels, with optional per-channel weight [C] and
/// bias [C] (default-constructed view: none); y has x's shape.
template <HostReadable XX, HostReadable XW, HostReadable XB, HostWritable XY>
void group_norm(XX&& x, index_t num_groups, XW&& weight, XB&& bias, XY&& y, double eps = 1e-5) {
    using T = host_value_t<XY>;
    using VX = host_view_t<XX>;
    using VW = host_view_t<XW>;
    using VB = host_view_t<XB>;
    using VY = host_view_t<XY>;
    constexpr std::size_t R = VX::rank;
    static_assert(R >= 2, "cascadev::group_norm: x must be [N, C, *]");
    static_assert(detail::static_same_shape<VX, VY>(), "cascadev::group_norm: x and y must have the same shape");
    static_assert(VW::rank == 1 && VB::rank == 1, "cascadev::group_norm: weight and bias are [C]");
    static_assert(detail::compatible(VW::extents_type::static_extent(0), VX::extents_type::static_extent(1)) &&
                      detail::compatible(VB::extents_type::static_extent(0), VX::extents_type::static_extent(1)),
                  "cascadev::group_norm: static mismatch between weight/bias and x's channels");

    const auto xv = host_cview(x);
    const auto wv = host_cview(weight);
    const auto bv = host_cview(bias);
    const auto yv = host_view(y);
    const index_t N = xv.extent(0), C = xv.extent(1);
    const bool has_w = detail::present(wv), has_b = detail::present(bv);
    if (xv.dims() != yv.dims() || (has_w && wv.extent(0) != C) || (has_b && bv.extent(0) != C))
        fail("group_norm: shape mismatch: x ", xv.extents().str(), ", weight ", detail::shape_or_none(wv),
             ", bias ", detail::shape_or_none(bv), ", y ", yv.extents().str(),
             "; need weight and bias [C] for x [N, C, *] and y of x's shape");
    if (num_groups <= 0 || C % num_groups != 0)
        fail("group_norm: ", C, " channels (x ", xv.extents().str(), ") do not split into ", num_groups, " groups");

    constexpr std::size_t S = R - 2;  // trailing (spatial) dims
    std::array<index_t, S> sdims{}, sxs{}, sys{};
    index_t spatial = 1;
    for (std::size_t k = 0; k < S; ++k) {
        sdims[k] = xv.extent(k + 2);
        sxs[k] = xv.stride(k + 2);
        sys[k] = yv.stride(k + 2);
        spatial *= sdims[k];
    }
    const index_t G = num_groups, Cg = C / G;
    const double count = double(Cg) * double(spatial);
    if (count == 0 || N == 0) return;
    const index_t sw = has_w ? wv.stride(0) : 0, sb = has_b ? bv.stride(0) : 0;

    parallel_for(N * G, 3 * Cg * spatial, [&](index_t item) {
        const index_t n = item / G, g = item % G;
        const auto* xb = xv.data() + n * xv.stride(0);
        T* yb = yv.data() + n * yv.stride(0);
        const index_t c0 = g * Cg;
        double sum = 0;
        for (index_t c = c0; c < c0 + Cg; ++c)
            detail::for_each_offset2(sdims, sxs, sxs, c * xv.stride(1), 0,
                                     [&](index_t ox, index_t) { sum += double(xb[ox]); });
        const double mean = sum / count;
        double sq = 0;
        for (index_t c = c0; c < c0 + Cg; ++c)
            detail::for_each_offset2(sdims, sxs, sxs, c * xv.stride(1), 0, [&](index_t ox, index_t) {
                const double d = double(xb[ox]) - mean;
                sq += d * d;
            });
        const double rstd = 1.0 / std::sqrt(sq / count + eps);
        for (index_t c = c0; c < c0 + Cg; ++c) {
            // Fold normalisation and affine into one multiply-add per element.
            const double w = has_w ? double(wv.data()[c * sw]) : 1.0;
            const double b = has_b ? double(bv.data()[c * sb]) : 0.0;
            const double a = rstd * w, shift = b - mean * a;
            detail::for_each_offset2(sdims, sxs, sys, c * xv.stride(1), c * yv.stride(1),
                                     [&](index_t ox, index_t oy) { yb[oy] = T(double(xb[ox]) * a + shift); });
        }
    });
}

/// GroupNorm without affine parameters (PyTorch's affine=False).
template <HostReadable XX, HostWritable XY>
void group_norm(XX&& x, index_t num_groups, XY&& y, double eps = 1e-5) {
    using T = host_value_t<XY>;
    group_norm(x, num_groups, View<const T, DExtents<1>, cpu>(), View<const T, DExtents<1>, cpu>(), y, eps);
}

}  // namespace cascadev
