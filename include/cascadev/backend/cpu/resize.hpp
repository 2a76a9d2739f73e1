#pragma once
// Bilinear resize of float planes with half-pixel centres (PyTorch's align_corners=False).
// Every trailing [h, w] plane is resized independently; positions are computed in float
// as PyTorch does, so results match its recorded outputs to rounding.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cascadev/core/tensor.hpp"

namespace cascadev {

/// Source taps of one output coordinate: out = w0 * in[i0] + w1 * in[i1].
struct BilinearTap {
    index_t i0, i1;
    float w0, w1;
};

/// Taps along one axis. `ratio` is in/out (for an integer factor k pass exactly 1/k).
inline std::vector<BilinearTap> bilinear_taps(index_t in, index_t out, float ratio) {
    std::vector<BilinearTap> taps(static_cast<std::size_t>(out));
    for (index_t d = 0; d < out; ++d) {
        const float src = std::max(ratio * (float(d) + 0.5f) - 0.5f, 0.0f);
        const index_t i0 = std::min(index_t(src), in - 1);
        const index_t i1 = std::min(i0 + 1, in - 1);
        const float l1 = src - float(i0);
        taps[std::size_t(d)] = {i0, i1, 1.0f - l1, l1};
    }
    return taps;
}

/// Resizes the last two dims of `x` into the last two dims of `y`; ratios in/out per axis
/// (default: derived from the sizes). Leading dims must match.
template <class TI, ExtentsType EI, class TO, ExtentsType EO>
void resize_bilinear(const View<TI, EI, cpu>& x, const View<TO, EO, cpu>& y, float ratio_h = 0.f,
                     float ratio_w = 0.f) {
    static_assert(EI::rank >= 2 && EI::rank == EO::rank, "resize_bilinear: ranks must match and be >= 2");
    constexpr std::size_t R = EI::rank;
    for (std::size_t i = 0; i + 2 < R; ++i)
        if (x.extent(i) != y.extent(i))
            fail("resize_bilinear: leading dims differ: ", x.extents().str(), " vs ", y.extents().str());
    const index_t h = x.extent(R - 2), w = x.extent(R - 1), H = y.extent(R - 2), W = y.extent(R - 1);
    if ((h == 0 || w == 0) && H * W > 0)
        fail("resize_bilinear: cannot resize empty planes ", x.extents().str(), " to ", y.extents().str());
    if (!x.is_contiguous() || !y.is_contiguous()) fail("resize_bilinear: views must be contiguous");
    if (ratio_h <= 0.f) ratio_h = float(h) / float(H);
    if (ratio_w <= 0.f) ratio_w = float(w) / float(W);
    const auto ty = bilinear_taps(h, H, ratio_h), tx = bilinear_taps(w, W, ratio_w);
    const index_t planes = (h > 0 && w > 0) ? x.size() / (h * w) : 0;

#pragma omp parallel for schedule(static)
    for (index_t p = 0; p < planes; ++p) {
        const TI* src = x.data() + p * h * w;
        TO* dst = y.data() + p * H * W;
        for (index_t oy = 0; oy < H; ++oy) {
            const BilinearTap& a = ty[std::size_t(oy)];
            const TI* r0 = src + a.i0 * w;
            const TI* r1 = src + a.i1 * w;
            for (index_t ox = 0; ox < W; ++ox) {
                const BilinearTap& b = tx[std::size_t(ox)];
                const float top = b.w0 * float(r0[b.i0]) + b.w1 * float(r0[b.i1]);
                const float bot = b.w0 * float(r1[b.i0]) + b.w1 * float(r1[b.i1]);
                dst[oy * W + ox] = TO(a.w0 * top + a.w1 * bot);
            }
        }
    }
}

/// Enlarges (or keeps) the last two dims by an integer factor k, ratio exactly 1/k.
template <class T, ExtentsType E>
Tensor<std::remove_const_t<T>, DExtents<E::rank>> resize_bilinear_by(const View<T, E, cpu>& x, index_t k) {
    if (k < 1) fail("resize_bilinear_by: factor must be >= 1, got ", k);
    auto d = x.dims();
    d[E::rank - 2] *= k;
    d[E::rank - 1] *= k;
    Tensor<std::remove_const_t<T>, DExtents<E::rank>> y(DExtents<E::rank>::from_dims(d));
    resize_bilinear(x, y.view(), 1.0f / float(k), 1.0f / float(k));
    return y;
}

}  // namespace cascadev
