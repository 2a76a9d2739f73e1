#pragma once
// Softmax over the last dim: y = exp(x - max) / sum(exp(x - max)) per row. Subtracting the
// row max keeps exp() in range (no overflow for large logits, the largest term is 1).
// x and y may be strided or permuted and y may be x itself (in place). Rows are split over
// OpenMP threads; each row is reduced by one thread in order, so results do not depend on
// the thread count.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

/// y = softmax(x) over the last dim; y has x's shape.
template <HostReadable XX, HostWritable XY>
void softmax(XX&& x, XY&& y) {
    using T = host_value_t<XY>;
    using VX = host_view_t<XX>;
    using VY = host_view_t<XY>;
    constexpr std::size_t R = VX::rank;
    static_assert(R >= 1, "cascadev::softmax: x needs at least one dim");
    static_assert(VX::rank == VY::rank &&
                      detail::static_compatible<R>(VX::extents_type::static_extents, VY::extents_type::static_extents),
                  "cascadev::softmax: x and y must have the same shape");
    const auto xv = host_cview(x);
    const auto yv = host_view(y);
    check_same_shape(xv, yv, "softmax");
    const index_t C = xv.extent(R - 1);
    if (C == 0) return;

    const detail::RowOffsets<R> xr(xv), yr(yv);
    const index_t sx = xr.inner_stride(), sy = yr.inner_stride();
    parallel_for(xr.rows(), 4 * C, [&](index_t r) {
        const auto* xp = xv.data() + xr.offset(r);
        T* yp = yv.data() + yr.offset(r);
        T mx = -std::numeric_limits<T>::infinity();
        for (index_t i = 0; i < C; ++i) mx = std::max(mx, T(xp[i * sx]));
        // A row of -inf gives NaN (0/0), as in PyTorch.
        double sum = 0;  // double: a long row of small terms keeps its low digits
        for (index_t i = 0; i < C; ++i) {
            const T e = std::exp(T(xp[i * sx]) - mx);
            yp[i * sy] = e;  // x is read before y is written at the same element (in place)
            sum += double(e);
        }
        const T inv = T(1.0 / sum);
        for (index_t i = 0; i < C; ++i) yp[i * sy] *= inv;
    });
}

/// x = softmax(x) over the last dim, in place.
template <HostWritable XY>
void softmax_inplace(XY&& x) {
    const auto v = host_view(x);
    softmax(v, v);
}

}  // namespace cascadev
