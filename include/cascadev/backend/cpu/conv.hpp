#pragma once
// Convolutions on the host, PyTorch semantics (cross-correlation, zero padding, NCHW):
//   conv2d                 Conv2d with stride, padding and groups: im2col + one BLAS GEMM
//                          per image, group and block of output rows; a direct kernel for
//                          depthwise convs (groups == C == O).
//   conv_transpose2d_k2s2  ConvTranspose2d with kernel 2, stride 2, no padding (no overlap:
//                          one GEMM per image, then a scatter into the 2x2 pixel blocks).
//   conv3d_temporal        Conv3d with kernel (3, 1, 1), padding (1, 0, 0) on [B, C, T, H, W]
//                          (any strides with contiguous H×W planes, so a permuted view of
//                          frames-major [B, T, C, H, W] works as is): 3 GEMMs per frame.
//   upsample_nearest2x     F.interpolate(scale_factor=2, mode="nearest").
//   fold_batchnorm         eval-mode BatchNorm folded into the preceding conv's weight/bias.
//   squeeze_excitation     x *= sigmoid(fc2 · SiLU(fc1 · mean_hw(x) + b1) + b2), per image.
//
// Shapes are checked before any work; errors name the shapes. Threading: OpenMP over
// independent rows/planes (results do not depend on the thread count); BLAS is only
// ever called outside OpenMP regions (OpenBLAS threads itself).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "cascadev/backend/cpu/gemm.hpp"
#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/vector_math.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/extents.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"

namespace cascadev {

struct Conv2dParams {
    index_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, groups = 1;
};

/// Output side of a convolution: floor((n + 2 pad - k) / stride) + 1.
inline index_t conv_out_size(index_t n, index_t k, index_t stride, index_t pad) {
    return (n + 2 * pad - k) / stride + 1;
}

namespace detail {

/// Row-major float GEMM C[M,N] = A[M,K] B[K,N] + beta C with leading dims (no checks).
inline void sgemm_rm(index_t M, index_t N, index_t K, const float* A, index_t lda, const float* B, index_t ldb,
                     float beta, float* C, index_t ldc) {
    if (M == 0 || N == 0) return;
    if (M <= 1) { ldc = std::max(ldc, N); lda = std::max(lda, K); }
    if (K <= 1) ldb = std::max(ldb, N);
    if (K == 0) {
        for (index_t i = 0; i < M; ++i)
            for (index_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.f ? 0.f : beta * C[i * ldc + j];
        return;
    }
    BlasMatrix<const float> a{A, M, K, lda, false}, b{B, K, N, ldb, false};
    blas_gemm<float>(a, b, 1.f, beta, C, ldc);
}

/// floor(a / b) for b > 0.
inline index_t floor_div(index_t a, index_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/// Output positions ox in [lo, hi) whose input column ox*s - pad + j lies in [0, n).
inline std::pair<index_t, index_t> valid_range(index_t n, index_t out, index_t s, index_t pad, index_t j) {
    const index_t lo = std::max<index_t>(0, floor_div(pad - j + s - 1, s));
    const index_t hi = std::min<index_t>(out, floor_div(n - 1 + pad - j, s) + 1);
    return {lo, std::max(lo, hi)};
}

/// True when the last two dims of a rank-R view form a contiguous plane.
template <class V>
bool plane_contiguous(const V& v) {
    constexpr std::size_t R = V::rank;
    const index_t h = v.extent(R - 2), w = v.extent(R - 1);
    return (w <= 1 || v.stride(R - 1) == 1) && (h <= 1 || v.stride(R - 2) == w);
}

inline std::string conv_desc(const char* op, const auto& x, const auto& w, const auto& y) {
    return concat(op, ": x ", x.extents().str(), ", w ", w.extents().str(), ", y ", y.extents().str());
}

/// Contiguous copy of a rank-4 view (or the pointer itself when already contiguous).
inline const float* contiguous_data(const View<const float, DExtents<4>, cpu>& v, std::vector<float>& buf) {
    if (v.is_contiguous()) return v.data();
    buf.resize(std::size_t(v.size()));
    index_t i = 0;
    for (index_t a = 0; a < v.extent(0); ++a)
        for (index_t b = 0; b < v.extent(1); ++b)
            for (index_t c = 0; c < v.extent(2); ++c)
                for (index_t d = 0; d < v.extent(3); ++d) buf[std::size_t(i++)] = v(a, b, c, d);
    return buf.data();
}

/// One output plane of a depthwise conv from a zero-padded input plane `xp` (rows of Wp):
/// y[oy][ox] = b + Σ_ij w[i][j] xp[oy·sh + i][ox·sw + j], summed in (i, j) order. No
/// bounds in the loops (the padding holds the zeros), so the stride-1 rows vectorize.
[[gnu::always_inline]] inline void depthwise_plane_body(const float* xp, index_t Wp, const float* wc, index_t kh,
                                                        index_t kw, float b, float* yp, index_t Ho, index_t Wo,
                                                        index_t sh, index_t sw) {
    for (index_t oy = 0; oy < Ho; ++oy) {
        float* __restrict yr = yp + oy * Wo;
        for (index_t ox = 0; ox < Wo; ++ox) yr[ox] = b;
        for (index_t i = 0; i < kh; ++i) {
            const float* xr = xp + (oy * sh + i) * Wp;
            for (index_t j = 0; j < kw; ++j) {
                const float wv = wc[i * kw + j];
                const float* __restrict xs = xr + j;
                if (sw == 1) {
                    for (index_t ox = 0; ox < Wo; ++ox) yr[ox] += wv * xs[ox];
                } else {
                    for (index_t ox = 0; ox < Wo; ++ox) yr[ox] += wv * xs[ox * sw];
                }
            }
        }
    }
}
inline void depthwise_plane(const float* xp, index_t Wp, const float* wc, index_t kh, index_t kw, float b, float* yp,
                            index_t Ho, index_t Wo, index_t sh, index_t sw) {
    depthwise_plane_body(xp, Wp, wc, kh, kw, b, yp, Ho, Wo, sh, sw);
}
#if CASCADEV_CPU_AVX2
/// The same loops compiled for AVX2 (8 lanes; the library itself has no -march flags).
CASCADEV_TARGET_AVX2 __attribute__((noinline)) inline void depthwise_plane_avx2(
    const float* xp, index_t Wp, const float* wc, index_t kh, index_t kw, float b, float* yp, index_t Ho, index_t Wo,
    index_t sh, index_t sw) {
    depthwise_plane_body(xp, Wp, wc, kh, kw, b, yp, Ho, Wo, sh, sw);
}
#endif

/// Direct depthwise conv (O == C == groups, weight [C, 1, kh, kw]), parallel over planes:
/// each plane is copied into a zero-padded scratch plane (per thread), then
/// depthwise_plane. y has contiguous H×W planes (conv2d checks).
inline void conv2d_depthwise(const View<const float, DExtents<4>, cpu>& x, const float* w, index_t kh, index_t kw,
                             const float* bias, const View<float, DExtents<4>, cpu>& y, const Conv2dParams& p) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    const index_t Ho = y.extent(2), Wo = y.extent(3);
    const index_t sh = p.stride_h, sw = p.stride_w, ph = p.pad_h, pw = p.pad_w;
    // The padded rows and columns the taps reach (the bottom/right padding may go unused).
    const index_t Hp = (Ho - 1) * sh + kh, Wp = (Wo - 1) * sw + kw;
    const bool avx2 = cpu_avx2_fma_available();
    parallel_for(N * C, Ho * Wo * kh * kw, [&](index_t nc) {
        const index_t n = nc / C, c = nc % C;
        thread_local std::vector<float> padded;
        padded.assign(std::size_t(Hp * Wp), 0.f);
        const index_t cols = std::max<index_t>(0, std::min(W, Wp - pw));
        for (index_t iy = 0; iy < H && iy + ph < Hp; ++iy) {
            float* dst = padded.data() + (iy + ph) * Wp + pw;
            const float* src = x.data() + n * x.stride(0) + c * x.stride(1) + iy * x.stride(2);
            const index_t xs3 = x.stride(3);
            if (xs3 == 1) std::copy(src, src + cols, dst);
            else for (index_t ix = 0; ix < cols; ++ix) dst[ix] = src[ix * xs3];
        }
        float* yp = y.data() + n * y.stride(0) + c * y.stride(1);
        const float b = bias ? bias[c] : 0.f;
#if CASCADEV_CPU_AVX2
        if (avx2) {
            depthwise_plane_avx2(padded.data(), Wp, w + c * kh * kw, kh, kw, b, yp, Ho, Wo, sh, sw);
            return;
        }
#endif
        (void)avx2;
        depthwise_plane(padded.data(), Wp, w + c * kh * kw, kh, kw, b, yp, Ho, Wo, sh, sw);
    });
}

}  // namespace detail

/// y = conv2d(x, w, bias) as torch.nn.functional.conv2d: x [N, C, H, W], w [O, C/groups,
/// kh, kw] (PyTorch layout), bias [O] or null, y [N, O, Ho, Wo] with
/// Ho = (H + 2 pad_h - kh) / stride_h + 1 (likewise Wo). x and w may have any strides;
/// y needs contiguous H×W planes (any channel/batch strides).
inline void conv2d(View<const float, DExtents<4>, cpu> x, View<const float, DExtents<4>, cpu> w, const float* bias,
                   View<float, DExtents<4>, cpu> y, Conv2dParams p = {}) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    const index_t O = w.extent(0), Cg = w.extent(1), kh = w.extent(2), kw = w.extent(3);
    const index_t G = p.groups;
    if (G < 1 || p.stride_h < 1 || p.stride_w < 1 || p.pad_h < 0 || p.pad_w < 0)
        fail(detail::conv_desc("conv2d", x, w, y), ": bad parameters (stride ", p.stride_h, "x", p.stride_w, ", pad ",
             p.pad_h, "x", p.pad_w, ", groups ", G, ")");
    if (C % G != 0 || O % G != 0 || Cg != C / G)
        fail(detail::conv_desc("conv2d", x, w, y), ", groups ", G, ": need C and O divisible by groups and w [O, C/groups, kh, kw]");
    if (H + 2 * p.pad_h < kh || W + 2 * p.pad_w < kw)
        fail(detail::conv_desc("conv2d", x, w, y), ": kernel larger than the padded input");
    const index_t Ho = conv_out_size(H, kh, p.stride_h, p.pad_h), Wo = conv_out_size(W, kw, p.stride_w, p.pad_w);
    if (y.extent(0) != N || y.extent(1) != O || y.extent(2) != Ho || y.extent(3) != Wo)
        fail(detail::conv_desc("conv2d", x, w, y), ": y must be ",
             shape_str(std::array<index_t, 4>{N, O, Ho, Wo}), " (stride ", p.stride_h, "x", p.stride_w, ", pad ",
             p.pad_h, "x", p.pad_w, ")");
    if (!detail::plane_contiguous(y) || (O > 1 && y.stride(1) < Ho * Wo))
        fail(detail::conv_desc("conv2d", x, w, y), ": y needs contiguous, non-overlapping H x W planes");
    if (y.size() == 0) return;

    std::vector<float> wbuf;
    const float* wd = detail::contiguous_data(w, wbuf);

    if (G == C && O == C && Cg == 1) {
        detail::conv2d_depthwise(x, wd, kh, kw, bias, y, p);
        return;
    }

    const index_t Og = O / G, K = Cg * kh * kw, P = Ho * Wo;
    float* yd = y.data();
    const index_t ys0 = y.stride(0), ys1 = y.stride(1);
    const float* xd = x.data();
    const index_t xs0 = x.stride(0), xs1 = x.stride(1), xs2 = x.stride(2), xs3 = x.stride(3);

    // Bias first; the GEMMs accumulate onto it (beta = 1).
    parallel_for(N * O, P, [&](index_t no) {
        const index_t n = no / O, o = no % O;
        std::fill_n(yd + n * ys0 + o * ys1, P, bias ? bias[o] : 0.f);
    });

    // A 1x1 stride-1 unpadded conv on contiguous planes reads x directly.
    const bool direct = kh == 1 && kw == 1 && p.stride_h == 1 && p.stride_w == 1 && p.pad_h == 0 &&
                        p.pad_w == 0 && detail::plane_contiguous(x) && (C <= 1 || xs1 >= P);
    if (direct) {
        for (index_t n = 0; n < N; ++n)
            for (index_t g = 0; g < G; ++g)
                detail::sgemm_rm(Og, P, K, wd + g * Og * K, K, xd + n * xs0 + g * Cg * xs1, xs1, 1.f,
                                 yd + n * ys0 + g * Og * ys1, ys1);
        return;
    }

    // im2col in blocks of whole output rows, the block's buffer at most ~16M floats.
    const index_t max_cols = std::max<index_t>(Wo, (index_t(1) << 24) / std::max<index_t>(K, 1));
    const index_t rows_per_block = std::max<index_t>(1, std::min<index_t>(Ho, max_cols / Wo));
    std::vector<float> col(std::size_t(K * rows_per_block * Wo));
    const index_t sh = p.stride_h, sw = p.stride_w, ph = p.pad_h, pw = p.pad_w;
    for (index_t n = 0; n < N; ++n)
        for (index_t g = 0; g < G; ++g)
            for (index_t r0 = 0; r0 < Ho; r0 += rows_per_block) {
                const index_t nr = std::min(rows_per_block, Ho - r0), ncol = nr * Wo;
                float* cd = col.data();
                parallel_for(K, ncol, [&](index_t k) {
                    const index_t c = k / (kh * kw), i = (k / kw) % kh, j = k % kw;
                    const float* xp = xd + n * xs0 + (g * Cg + c) * xs1;
                    float* cr = cd + k * ncol;
                    const auto [lo, hi] = detail::valid_range(W, Wo, sw, pw, j);
                    for (index_t oy = 0; oy < nr; ++oy) {
                        float* crr = cr + oy * Wo;
                        const index_t iy = (r0 + oy) * sh - ph + i;
                        if (iy < 0 || iy >= H || lo >= hi) {
                            std::fill_n(crr, Wo, 0.f);
                            continue;
                        }
                        const float* xr = xp + iy * xs2;
                        for (index_t ox = 0; ox < lo; ++ox) crr[ox] = 0.f;
                        if (sw == 1 && xs3 == 1) {
                            std::copy_n(xr + lo - pw + j, hi - lo, crr + lo);
                        } else {
                            for (index_t ox = lo; ox < hi; ++ox) crr[ox] = xr[(ox * sw - pw + j) * xs3];
                        }
                        for (index_t ox = hi; ox < Wo; ++ox) crr[ox] = 0.f;
                    }
                });
                detail::sgemm_rm(Og, ncol, K, wd + g * Og * K, K, cd, ncol, 1.f,
                                 yd + n * ys0 + g * Og * ys1 + r0 * Wo, ys1);
            }
}

/// ConvTranspose2d with kernel 2, stride 2, no padding: x [N, C, H, W], w [C, O, 2, 2]
/// (PyTorch's transposed layout), bias [O] or null, y [N, O, 2H, 2W]:
/// y[n, o, 2i+a, 2j+b] = bias[o] + Σ_c x[n, c, i, j] · w[c, o, a, b].
inline void conv_transpose2d_k2s2(View<const float, DExtents<4>, cpu> x, View<const float, DExtents<4>, cpu> w,
                                  const float* bias, View<float, DExtents<4>, cpu> y) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    const index_t O = w.extent(1);
    if (w.extent(0) != C || w.extent(2) != 2 || w.extent(3) != 2)
        fail(detail::conv_desc("conv_transpose2d_k2s2", x, w, y), ": w must be [C, O, 2, 2] with C = x's channels");
    if (y.extent(0) != N || y.extent(1) != O || y.extent(2) != 2 * H || y.extent(3) != 2 * W)
        fail(detail::conv_desc("conv_transpose2d_k2s2", x, w, y), ": y must be ",
             shape_str(std::array<index_t, 4>{N, O, 2 * H, 2 * W}));
    if (y.size() == 0) return;
    std::vector<float> wbuf;
    const float* wd = detail::contiguous_data(w, wbuf);  // as [C, O*4]
    const index_t P = H * W, M = O * 4;
    std::vector<float> xbuf;
    const bool xdirect = detail::plane_contiguous(x) && (C <= 1 || x.stride(1) >= H * W);
    if (!xdirect) xbuf.resize(std::size_t(C * P));
    std::vector<float> tmp(std::size_t(M * P));
    float* yd = y.data();
    const index_t ys0 = y.stride(0), ys1 = y.stride(1), ys2 = y.stride(2), ys3 = y.stride(3);
    for (index_t n = 0; n < N; ++n) {
        const float* xp = x.data() + n * x.stride(0);
        index_t ldx = x.stride(1);
        if (!xdirect) {
            for (index_t c = 0; c < C; ++c)
                for (index_t i = 0; i < H; ++i)
                    for (index_t j = 0; j < W; ++j) xbuf[std::size_t(c * P + i * W + j)] = x(n, c, i, j);
            xp = xbuf.data();
            ldx = P;
        }
        // tmp [O*4, P] = w^T [O*4, C] · x[n] [C, P]
        if (C == 0) {
            std::fill(tmp.begin(), tmp.end(), 0.f);
        } else {
            detail::BlasMatrix<const float> a{wd, M, C, M, true}, b{xp, C, P, ldx, false};
            detail::blas_gemm<float>(a, b, 1.f, 0.f, tmp.data(), P);
        }
        const float* td = tmp.data();
        parallel_for(O, 4 * P, [&](index_t o) {
            const float bo = bias ? bias[o] : 0.f;
            float* yo = yd + n * ys0 + o * ys1;
            for (index_t a = 0; a < 2; ++a)
                for (index_t b = 0; b < 2; ++b) {
                    const float* t = td + (o * 4 + a * 2 + b) * P;
                    for (index_t i = 0; i < H; ++i) {
                        float* yr = yo + (2 * i + a) * ys2 + b * ys3;
                        const float* tr = t + i * W;
                        for (index_t j = 0; j < W; ++j) yr[2 * j * ys3] = tr[j] + bo;
                    }
                }
        });
    }
}

/// Conv3d with kernel (3, 1, 1), padding (1, 0, 0), stride 1: x [B, C, T, H, W],
/// w [O, C, 3, 1, 1], bias [O] or null, y [B, O, T, H, W]:
/// y[b, o, t] = bias[o] + Σ_c Σ_d w[o, c, d] · x[b, c, t + d − 1] (zero outside [0, T)).
/// x and y may have any strides as long as each H×W plane is contiguous, so a frames-major
/// buffer [B, T, C, H, W] can be passed as its permuted view. y must not alias x.
inline void conv3d_temporal(View<const float, DExtents<5>, cpu> x, View<const float, DExtents<5>, cpu> w,
                            const float* bias, View<float, DExtents<5>, cpu> y) {
    const index_t B = x.extent(0), C = x.extent(1), T = x.extent(2), H = x.extent(3), W = x.extent(4);
    const index_t O = w.extent(0);
    if (w.extent(1) != C || w.extent(2) != 3 || w.extent(3) != 1 || w.extent(4) != 1)
        fail(detail::conv_desc("conv3d_temporal", x, w, y), ": w must be [O, C, 3, 1, 1] with C = x's channels");
    if (y.extent(0) != B || y.extent(1) != O || y.extent(2) != T || y.extent(3) != H || y.extent(4) != W)
        fail(detail::conv_desc("conv3d_temporal", x, w, y), ": y must be ",
             shape_str(std::array<index_t, 5>{B, O, T, H, W}));
    if (!detail::plane_contiguous(x) || !detail::plane_contiguous(y) || (C > 1 && x.stride(1) < H * W) ||
        (O > 1 && y.stride(1) < H * W))
        fail(detail::conv_desc("conv3d_temporal", x, w, y), ": x and y need contiguous, non-overlapping H x W planes");
    if (y.size() == 0) return;
    // w as three contiguous [O, C] matrices.
    std::vector<float> wd(std::size_t(3 * O * C));
    for (index_t d = 0; d < 3; ++d)
        for (index_t o = 0; o < O; ++o)
            for (index_t c = 0; c < C; ++c) wd[std::size_t((d * O + o) * C + c)] = w(o, c, d, 0, 0);
    const index_t P = H * W;
    float* yd = y.data();
    parallel_for(B * O * T, P, [&](index_t i) {
        const index_t t = i % T, o = (i / T) % O, b = i / (T * O);
        std::fill_n(yd + b * y.stride(0) + o * y.stride(1) + t * y.stride(2), P, bias ? bias[o] : 0.f);
    });
    for (index_t b = 0; b < B; ++b)
        for (index_t t = 0; t < T; ++t)
            for (index_t d = 0; d < 3; ++d) {
                const index_t ts = t + d - 1;
                if (ts < 0 || ts >= T) continue;
                detail::sgemm_rm(O, P, C, wd.data() + d * O * C, C,
                                 x.data() + b * x.stride(0) + ts * x.stride(2), x.stride(1), 1.f,
                                 yd + b * y.stride(0) + t * y.stride(2), y.stride(1));
            }
}

/// Nearest-neighbour 2× upsampling: y [N, C, 2H, 2W], y[n, c, i, j] = x[n, c, i/2, j/2].
inline void upsample_nearest2x(View<const float, DExtents<4>, cpu> x, View<float, DExtents<4>, cpu> y) {
    const index_t N = x.extent(0), C = x.extent(1), H = x.extent(2), W = x.extent(3);
    if (y.extent(0) != N || y.extent(1) != C || y.extent(2) != 2 * H || y.extent(3) != 2 * W)
        fail("upsample_nearest2x: x ", x.extents().str(), ", y ", y.extents().str(), ": y must be ",
             shape_str(std::array<index_t, 4>{N, C, 2 * H, 2 * W}));
    parallel_for(N * C, 4 * H * W, [&](index_t nc) {
        const index_t n = nc / C, c = nc % C;
        for (index_t i = 0; i < 2 * H; ++i) {
            const float* xr = x.data() + n * x.stride(0) + c * x.stride(1) + (i / 2) * x.stride(2);
            float* yr = y.data() + n * y.stride(0) + c * y.stride(1) + i * y.stride(2);
            for (index_t j = 0; j < 2 * W; ++j) yr[j * y.stride(3)] = xr[(j / 2) * x.stride(3)];
        }
    });
}

/// Folds an eval-mode BatchNorm that directly follows a conv into the conv, in place:
/// s_o = γ_o / sqrt(var_o + eps), W'[o, …] = s_o W[o, …], b'_o = β_o + s_o (b_o − mean_o).
/// weight: contiguous [O, …] (dim 0 = output channel; rank 4 for Conv2d) — rewritten;
/// bias [O]: in, the conv's bias (zeros for a bias-free conv); out, the folded bias.
/// bn_weight / bn_bias may be empty views (a non-affine BatchNorm: γ = 1, β = 0).
/// Computed in double, rounded once to float.
template <ExtentsType E>
void fold_batchnorm(View<float, E, cpu> weight, View<float, DExtents<1>, cpu> bias,
                    View<const float, DExtents<1>, cpu> bn_weight, View<const float, DExtents<1>, cpu> bn_bias,
                    View<const float, DExtents<1>, cpu> running_mean, View<const float, DExtents<1>, cpu> running_var,
                    double eps) {
    const index_t O = weight.extent(0);
    auto bad = [&](const char* what, const auto& v) {
        fail("fold_batchnorm: weight ", weight.extents().str(), ": ", what, " ", v.extents().str(), " must be [", O, "]");
    };
    if (bias.extent(0) != O) bad("bias", bias);
    if (bn_weight.extent(0) != O && bn_weight.extent(0) != 0) bad("bn weight", bn_weight);
    if (bn_bias.extent(0) != O && bn_bias.extent(0) != 0) bad("bn bias", bn_bias);
    if (running_mean.extent(0) != O) bad("running_mean", running_mean);
    if (running_var.extent(0) != O) bad("running_var", running_var);
    if (!weight.is_contiguous()) fail("fold_batchnorm: weight ", weight.extents().str(), " must be contiguous");
    const index_t per = O == 0 ? 0 : weight.size() / O;
    for (index_t o = 0; o < O; ++o) {
        const double g = bn_weight.extent(0) ? double(bn_weight(o)) : 1.0;
        const double be = bn_bias.extent(0) ? double(bn_bias(o)) : 0.0;
        const double s = g / std::sqrt(double(running_var(o)) + eps);
        float* wo = weight.data() + o * per;
        for (index_t i = 0; i < per; ++i) wo[i] = float(s * double(wo[i]));
        bias(o) = float(be + s * (double(bias(o)) - double(running_mean(o))));
    }
}

/// Squeeze-and-excitation in place on x [N, C, H, W] (contiguous planes):
/// g = sigmoid(fc2 · SiLU(fc1 · mean_hw(x) + b1) + b2), x *= g per channel.
/// fc1 [S, C] (+ b1 [S]), fc2 [C, S] (+ b2 [C]), contiguous row-major (1×1 conv weights
/// [S, C, 1, 1] are that layout).
inline void squeeze_excitation(View<float, DExtents<4>, cpu> x, const float* fc1, const float* b1, const float* fc2,
                               const float* b2, index_t S) {
    const index_t N = x.extent(0), C = x.extent(1), P = x.extent(2) * x.extent(3);
    if (!detail::plane_contiguous(x)) fail("squeeze_excitation: x ", x.extents().str(), " needs contiguous H x W planes");
    std::vector<float> mean(std::size_t(N * C)), gate(std::size_t(N * C));
    parallel_for(N * C, P, [&](index_t nc) {
        const float* p = x.data() + (nc / C) * x.stride(0) + (nc % C) * x.stride(1);
        float s = 0.f;
        for (index_t i = 0; i < P; ++i) s += p[i];
        mean[std::size_t(nc)] = P ? s / float(P) : 0.f;
    });
    std::vector<float> h(static_cast<std::size_t>(S));
    for (index_t n = 0; n < N; ++n) {
        const float* m = mean.data() + n * C;
        for (index_t s = 0; s < S; ++s) {
            float a = b1 ? b1[s] : 0.f;
            const float* wr = fc1 + s * C;
            for (index_t c = 0; c < C; ++c) a += wr[c] * m[c];
            h[std::size_t(s)] = a / (1.f + std::exp(-a));
        }
        for (index_t c = 0; c < C; ++c) {
            float a = b2 ? b2[c] : 0.f;
            const float* wr = fc2 + c * S;
            for (index_t s = 0; s < S; ++s) a += wr[s] * h[std::size_t(s)];
            gate[std::size_t(n * C + c)] = 1.f / (1.f + std::exp(-a));
        }
    }
    parallel_for(N * C, P, [&](index_t nc) {
        float* p = x.data() + (nc / C) * x.stride(0) + (nc % C) * x.stride(1);
        const float g = gate[std::size_t(nc)];
        for (index_t i = 0; i < P; ++i) p[i] *= g;
    });
}

}  // namespace cascadev
