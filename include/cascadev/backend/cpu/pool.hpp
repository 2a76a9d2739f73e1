#pragma once
// Max pooling on the host, PyTorch semantics (torch.nn.functional.max_pool2d, NCHW,
// dilation 1): padding counts as -inf, a NaN in a window wins (as PyTorch propagates it),
// output sides floor((n + 2 pad - k) / stride) + 1, or with ceil_mode rounded up as long
// as the last window starts inside the input or its left padding.
//
// Shapes are checked before any work; errors name the shapes. OpenMP over the N×C planes
// (each output element computed by one thread: results do not depend on the thread count).
#include <algorithm>
#include <cmath>
#include <limits>

#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/extents.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

struct Pool2dParams {
    index_t kernel_h = 2, kernel_w = 2, stride_h = 2, stride_w = 2, pad_h = 0, pad_w = 0;
    bool ceil_mode = false;

    /// Square kernel k, stride s (PyTorch's default stride is the kernel), padding p.
    static Pool2dParams square(index_t k, index_t s, index_t p = 0) { return {k, k, s, s, p, p, false}; }
};

/// Output side of a pooling window along one axis (PyTorch's pooling_output_shape).
inline index_t pool_out_size(index_t n, index_t k, index_t stride, index_t pad, bool ceil_mode) {
    const index_t span = n + 2 * pad - k;
    index_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= n + pad) --out;  // the last window must start inside
    return out;
}

/// y = max_pool2d(x) for x [N, C, H, W] (any strides), y [N, C, Ho, Wo] (any strides).
inline void maxpool2d(View<const float, DExtents<4>, cpu> x, View<float, DExtents<4>, cpu> y, const Pool2dParams& p) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    auto desc = [&] { return concat("maxpool2d: x ", x.extents().str(), ", y ", y.extents().str()); };
    if (p.kernel_h < 1 || p.kernel_w < 1 || p.stride_h < 1 || p.stride_w < 1 || p.pad_h < 0 || p.pad_w < 0 ||
        2 * p.pad_h > p.kernel_h || 2 * p.pad_w > p.kernel_w)
        fail(desc(), ": bad parameters (kernel ", p.kernel_h, "x", p.kernel_w, ", stride ", p.stride_h, "x", p.stride_w,
             ", pad ", p.pad_h, "x", p.pad_w, "; pad must be at most half the kernel)");
    if (H + 2 * p.pad_h < p.kernel_h || W + 2 * p.pad_w < p.kernel_w)
        fail(desc(), ": kernel ", p.kernel_h, "x", p.kernel_w, " larger than the padded input");
    const index_t Ho = pool_out_size(H, p.kernel_h, p.stride_h, p.pad_h, p.ceil_mode);
    const index_t Wo = pool_out_size(W, p.kernel_w, p.stride_w, p.pad_w, p.ceil_mode);
    if (y.extent(0) != N || y.extent(1) != C || y.extent(2) != Ho || y.extent(3) != Wo)
        fail(desc(), ": y must be ", shape_str(std::array<index_t, 4>{N, C, Ho, Wo}), " (kernel ", p.kernel_h, "x",
             p.kernel_w, ", stride ", p.stride_h, "x", p.stride_w, ", pad ", p.pad_h, "x", p.pad_w, ")");
    if (y.size() == 0) return;
    const float* xd = x.data();
    float* yd = y.data();
    const index_t xs0 = x.stride(0), xs1 = x.stride(1), xs2 = x.stride(2), xs3 = x.stride(3);
    const index_t ys0 = y.stride(0), ys1 = y.stride(1), ys2 = y.stride(2), ys3 = y.stride(3);
    parallel_for(N * C, Ho * Wo * p.kernel_h * p.kernel_w, [&](index_t nc) {
        const index_t n = nc / C, c = nc % C;
        const float* xp = xd + n * xs0 + c * xs1;
        float* yp = yd + n * ys0 + c * ys1;
        for (index_t oy = 0; oy < Ho; ++oy) {
            const index_t y0 = oy * p.stride_h - p.pad_h;
            const index_t i0 = std::max<index_t>(y0, 0), i1 = std::min<index_t>(y0 + p.kernel_h, H);
            for (index_t ox = 0; ox < Wo; ++ox) {
                const index_t x0 = ox * p.stride_w - p.pad_w;
                const index_t j0 = std::max<index_t>(x0, 0), j1 = std::min<index_t>(x0 + p.kernel_w, W);
                float m = -std::numeric_limits<float>::infinity();
                for (index_t i = i0; i < i1; ++i)
                    for (index_t j = j0; j < j1; ++j) {
                        const float v = xp[i * xs2 + j * xs3];
                        if (v > m || std::isnan(v)) m = v;
                    }
                yp[oy * ys2 + ox * ys3] = m;
            }
        }
    });
}

}  // namespace cascadev
