#pragma once
// Multi-head scaled-dot-product attention on the host, blocked with an online softmax
// (flash-attention style), over the windows of an AttentionLayout.
//
// Per window and head (docs/reference/dit.md §5; dit_ref.py Attention.forward):
//     o = softmax(q kᵀ · scale) v,   scale = 1/√HeadDim,   no mask, no position bias;
// head h uses channels h·HeadDim .. h·HeadDim+HeadDim-1 of q, k and v (the reference views
// qkv as [.., 3, heads, head_dim]), and its output goes to the same channels of `out`.
//
// Memory is linear in tokens: keys are processed in blocks of BK = 64, each query keeps a
// running max and sum. Scratch: per thread a BQ×HeadDim query block, a BQ×HeadDim output
// accumulator and a BQ×BK score block (BQ = 256); shared, the key/value blocks of the
// (window, head) pairs in flight, packed once (K transposed) from the strided source rows,
// i.e. 2·window·HeadDim floats per pair. No N×N or window×window score matrix exists.
// Work items are (window, head, query block), spread over OpenMP threads; each output
// element is computed by one item in a fixed order, so results do not depend on the
// number of threads.
//
// Measured (2-core AMD EPYC, AVX2 kernel): the register-tiled QKᵀ and PV kernels run at
// ~110 GFLOP/s per core on 256×64×72 blocks, cblas_sgemm (OpenBLAS 0.3.21, one thread) at
// ~95 on the same blocks, so BLAS is not used here.
//
// Kernels: a portable one (plain loops) and, on x86-64 with GCC or Clang, an AVX2+FMA one
// chosen at run time when the CPU has it (the library is built without -march flags, so
// the wide kernel is compiled with a function target attribute). Both accumulate in float;
// softmax uses exp2 with the scale folded into q (scale·log2 e).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <type_traits>

#include "cascadev/attention/layout.hpp"
#include "cascadev/backend/cpu/parallel.hpp"
#include "cascadev/backend/cpu/vector_math.hpp"
#include "cascadev/core/error.hpp"
#include "cascadev/core/tensor.hpp"
#include "cascadev/core/view.hpp"

// The AVX2 detection and target attribute are vector_math.hpp's; CASCADEV_NO_AVX2_ATTENTION
// leaves the attention kernel portable alone.
#if CASCADEV_CPU_AVX2 && !defined(CASCADEV_NO_AVX2_ATTENTION)
#define CASCADEV_ATTENTION_AVX2 1
#else
#define CASCADEV_ATTENTION_AVX2 0
#endif

namespace cascadev {

/// Which CPU kernel runs.
enum class AttentionKernel {
    automatic,  ///< AVX2+FMA when the CPU (and compiler) has it, else portable
    portable,   ///< plain C++ loops
    avx2,       ///< AVX2+FMA; an Error when unavailable
};

struct AttentionOptions {
    AttentionKernel kernel = AttentionKernel::automatic;
    /// Softmax scale; default 1/√HeadDim as in the reference.
    std::optional<double> scale;
};

/// True when the AVX2+FMA kernel is compiled in and the CPU supports it.
inline bool attention_avx2_available() {
#if CASCADEV_ATTENTION_AVX2
    return cpu_avx2_fma_available();
#else
    return false;
#endif
}

namespace detail::attn {

inline constexpr int BQ = 256;  // queries per work item
inline constexpr int BK = 64;  // keys per block
inline constexpr int MR = 4;   // query rows per register tile
inline constexpr int NR = 16;  // key columns per register tile (QKᵀ)

/// Head dim rounded up to whole 8-float vectors (zero-padded in the scratch blocks).
template <int D>
inline constexpr int padded_dim = (D + 7) / 8 * 8;

inline constexpr float neg_inf = -std::numeric_limits<float>::infinity();

/// Per-thread scratch, carved from one aligned buffer.
template <int DP>
struct Scratch {
    static constexpr std::size_t q_n = std::size_t(BQ) * DP;  // Q block [BQ][DP], pre-scaled
    static constexpr std::size_t s_n = std::size_t(BQ) * BK;  // scores / probabilities [BQ][BK]
    static constexpr std::size_t o_n = std::size_t(BQ) * DP;  // output accumulator [BQ][DP]
    static constexpr std::size_t floats = q_n + s_n + o_n + 2 * BQ;
    static constexpr std::size_t stride = (floats + 15) / 16 * 16;  // whole cache lines

    float *q, *s, *o, *m, *l;
    explicit Scratch(float* p) : q(p), s(q + q_n), o(s + s_n), m(o + o_n), l(m + BQ) {}
};

/// One packed key/value block: K transposed [DP][BK], then V [BK][DP], zero-padded.
template <int DP>
inline constexpr std::size_t kv_block_floats = 2 * std::size_t(DP) * BK;

// -------------------------------------------------------------------------------------
// Portable kernels
// -------------------------------------------------------------------------------------
struct Portable {
    /// S[i][j] = Σ_c Q[i][c] Kt[c][j] for i < rows, j < cols.
    template <int DP>
    static void qk(const float* Q, const float* Kt, float* S, int rows, int cols) {
        for (int i = 0; i < rows; ++i) {
            float* s = S + i * BK;
            for (int j = 0; j < cols; ++j) s[j] = 0.f;
            const float* q = Q + i * DP;
            for (int c = 0; c < DP; ++c) {
                const float qc = q[c];
                const float* kr = Kt + c * BK;
                for (int j = 0; j < cols; ++j) s[j] += qc * kr[j];
            }
        }
    }
    /// O[i][:] += Σ_j P[i][j] V[j][:] for i < rows, j < cols.
    template <int DP>
    static void pv(const float* P, const float* V, float* O, int rows, int cols) {
        for (int i = 0; i < rows; ++i) {
            float* o = O + i * DP;
            const float* p = P + i * BK;
            for (int j = 0; j < cols; ++j) {
                const float pj = p[j];
                const float* vr = V + j * DP;
                for (int c = 0; c < DP; ++c) o[c] += pj * vr[c];
            }
        }
    }
    /// Online-softmax step of one row (scores in log2 units, `cols` of them, padded ones
    /// -inf): turns s into exp2(s - m_new), updates m and l, rescales the output row.
    template <int DP>
    static void softmax_row(float* s, int cols, float& m, float& l, float* o) {
        float mx = neg_inf;
        for (int j = 0; j < cols; ++j) mx = std::max(mx, s[j]);
        const float m_new = std::max(m, mx);
        const float alpha = (m == neg_inf) ? 0.f : std::exp2(m - m_new);
        float sum = 0.f;
        for (int j = 0; j < cols; ++j) {
            const float e = std::exp2(s[j] - m_new);
            s[j] = e;
            sum += e;
        }
        l = l * alpha + sum;
        m = m_new;
        if (alpha != 1.f)
            for (int c = 0; c < DP; ++c) o[c] *= alpha;
    }
};

// -------------------------------------------------------------------------------------
// AVX2 + FMA kernels
// -------------------------------------------------------------------------------------
#if CASCADEV_ATTENTION_AVX2
struct Avx2 {
    /// 2^x for x <= 0 (x < -126 gives exactly 0; -inf gives 0). Degree-7 Taylor polynomial
    /// of 2^f on f in [-1/2, 1/2]: relative error < 1e-8 before rounding.
    CASCADEV_TARGET_AVX2 static inline __m256 exp2_nonpos(__m256 x) {
        const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-126.f), _CMP_GE_OQ);
        x = _mm256_max_ps(x, _mm256_set1_ps(-126.f));
        const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256 f = _mm256_sub_ps(x, n);
        __m256 p = _mm256_set1_ps(1.525273380405984e-05f);
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.5403530393381606e-04f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146428443e-03f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618129107628477e-03f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550410866482158e-02f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402265069591007e-01f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931471805599453e-01f));
        p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
        return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
    }

    CASCADEV_TARGET_AVX2 static inline float hmax(__m256 v) {
        __m128 a = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        a = _mm_max_ps(a, _mm_movehl_ps(a, a));
        a = _mm_max_ss(a, _mm_shuffle_ps(a, a, 1));
        return _mm_cvtss_f32(a);
    }
    CASCADEV_TARGET_AVX2 static inline float hsum(__m256 v) {
        __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        a = _mm_add_ps(a, _mm_movehl_ps(a, a));
        a = _mm_add_ss(a, _mm_shuffle_ps(a, a, 1));
        return _mm_cvtss_f32(a);
    }

    /// S = Q Ktᵀ in MR×NR register tiles; rows a multiple of MR, cols of NR.
    template <int DP>
    CASCADEV_TARGET_AVX2 __attribute__((noinline)) static void qk(const float* Q, const float* Kt, float* S, int rows, int cols) {
        for (int i0 = 0; i0 < rows; i0 += MR) {
            const float* q0 = Q + (i0 + 0) * DP;
            const float* q1 = Q + (i0 + 1) * DP;
            const float* q2 = Q + (i0 + 2) * DP;
            const float* q3 = Q + (i0 + 3) * DP;
            for (int j0 = 0; j0 < cols; j0 += NR) {
                __m256 a00 = _mm256_setzero_ps(), a01 = _mm256_setzero_ps();
                __m256 a10 = _mm256_setzero_ps(), a11 = _mm256_setzero_ps();
                __m256 a20 = _mm256_setzero_ps(), a21 = _mm256_setzero_ps();
                __m256 a30 = _mm256_setzero_ps(), a31 = _mm256_setzero_ps();
                const float* kp = Kt + j0;
                for (int c = 0; c < DP; ++c, kp += BK) {
                    const __m256 k0 = _mm256_load_ps(kp), k1 = _mm256_load_ps(kp + 8);
                    __m256 b = _mm256_broadcast_ss(q0 + c);
                    a00 = _mm256_fmadd_ps(b, k0, a00);
                    a01 = _mm256_fmadd_ps(b, k1, a01);
                    b = _mm256_broadcast_ss(q1 + c);
                    a10 = _mm256_fmadd_ps(b, k0, a10);
                    a11 = _mm256_fmadd_ps(b, k1, a11);
                    b = _mm256_broadcast_ss(q2 + c);
                    a20 = _mm256_fmadd_ps(b, k0, a20);
                    a21 = _mm256_fmadd_ps(b, k1, a21);
                    b = _mm256_broadcast_ss(q3 + c);
                    a30 = _mm256_fmadd_ps(b, k0, a30);
                    a31 = _mm256_fmadd_ps(b, k1, a31);
                }
                float* s = S + i0 * BK + j0;
                _mm256_store_ps(s, a00);
                _mm256_store_ps(s + 8, a01);
                _mm256_store_ps(s + BK, a10);
                _mm256_store_ps(s + BK + 8, a11);
                _mm256_store_ps(s + 2 * BK, a20);
                _mm256_store_ps(s + 2 * BK + 8, a21);
                _mm256_store_ps(s + 3 * BK, a30);
                _mm256_store_ps(s + 3 * BK + 8, a31);
            }
        }
    }

    /// O[MR rows][c0 .. c0+8·NV) += P[MR rows][0..cols) · V[0..cols)[c0 .. c0+8·NV).
    /// Named accumulators (not an array) and not inlined: otherwise GCC may keep the 12
    /// accumulators on the stack.
    template <int DP, int NV>
    CASCADEV_TARGET_AVX2 __attribute__((noinline)) static void pv_tile(const float* P, const float* V, float* O,
                                                                       int cols, int c0) {
        static_assert(NV >= 1 && NV <= 3);
        float* o0 = O + c0;
        float* o1 = o0 + DP;
        float* o2 = o1 + DP;
        float* o3 = o2 + DP;
        const __m256 z = _mm256_setzero_ps();
        __m256 a00 = _mm256_load_ps(o0), a10 = _mm256_load_ps(o1), a20 = _mm256_load_ps(o2),
               a30 = _mm256_load_ps(o3);
        __m256 a01 = z, a11 = z, a21 = z, a31 = z, a02 = z, a12 = z, a22 = z, a32 = z;
        if constexpr (NV >= 2) {
            a01 = _mm256_load_ps(o0 + 8), a11 = _mm256_load_ps(o1 + 8), a21 = _mm256_load_ps(o2 + 8),
            a31 = _mm256_load_ps(o3 + 8);
        }
        if constexpr (NV >= 3) {
            a02 = _mm256_load_ps(o0 + 16), a12 = _mm256_load_ps(o1 + 16), a22 = _mm256_load_ps(o2 + 16),
            a32 = _mm256_load_ps(o3 + 16);
        }
        const float* vp = V + c0;
        const float* p0 = P;
        for (int j = 0; j < cols; ++j, vp += DP, ++p0) {
            const __m256 v0 = _mm256_load_ps(vp);
            const __m256 v1 = NV >= 2 ? _mm256_load_ps(vp + 8) : z;
            const __m256 v2 = NV >= 3 ? _mm256_load_ps(vp + 16) : z;
            __m256 b = _mm256_broadcast_ss(p0);
            a00 = _mm256_fmadd_ps(b, v0, a00);
            if constexpr (NV >= 2) a01 = _mm256_fmadd_ps(b, v1, a01);
            if constexpr (NV >= 3) a02 = _mm256_fmadd_ps(b, v2, a02);
            b = _mm256_broadcast_ss(p0 + BK);
            a10 = _mm256_fmadd_ps(b, v0, a10);
            if constexpr (NV >= 2) a11 = _mm256_fmadd_ps(b, v1, a11);
            if constexpr (NV >= 3) a12 = _mm256_fmadd_ps(b, v2, a12);
            b = _mm256_broadcast_ss(p0 + 2 * BK);
            a20 = _mm256_fmadd_ps(b, v0, a20);
            if constexpr (NV >= 2) a21 = _mm256_fmadd_ps(b, v1, a21);
            if constexpr (NV >= 3) a22 = _mm256_fmadd_ps(b, v2, a22);
            b = _mm256_broadcast_ss(p0 + 3 * BK);
            a30 = _mm256_fmadd_ps(b, v0, a30);
            if constexpr (NV >= 2) a31 = _mm256_fmadd_ps(b, v1, a31);
            if constexpr (NV >= 3) a32 = _mm256_fmadd_ps(b, v2, a32);
        }
        _mm256_store_ps(o0, a00), _mm256_store_ps(o1, a10), _mm256_store_ps(o2, a20), _mm256_store_ps(o3, a30);
        if constexpr (NV >= 2) {
            _mm256_store_ps(o0 + 8, a01), _mm256_store_ps(o1 + 8, a11), _mm256_store_ps(o2 + 8, a21),
                _mm256_store_ps(o3 + 8, a31);
        }
        if constexpr (NV >= 3) {
            _mm256_store_ps(o0 + 16, a02), _mm256_store_ps(o1 + 16, a12), _mm256_store_ps(o2 + 16, a22),
                _mm256_store_ps(o3 + 16, a32);
        }
    }

    template <int DP>
    CASCADEV_TARGET_AVX2 static void pv(const float* P, const float* V, float* O, int rows, int cols) {
        constexpr int full = DP / 24, rest = (DP % 24) / 8;
        for (int i0 = 0; i0 < rows; i0 += MR) {
            const float* p = P + i0 * BK;
            float* o = O + i0 * DP;
            for (int t = 0; t < full; ++t) pv_tile<DP, 3>(p, V, o, cols, 24 * t);
            if constexpr (rest == 2) pv_tile<DP, 2>(p, V, o, cols, 24 * full);
            if constexpr (rest == 1) pv_tile<DP, 1>(p, V, o, cols, 24 * full);
        }
    }

    /// As Portable::softmax_row; cols a multiple of 8.
    template <int DP>
    CASCADEV_TARGET_AVX2 static void softmax_row(float* s, int cols, float& m, float& l, float* o) {
        __m256 mx = _mm256_set1_ps(neg_inf);
        for (int j = 0; j < cols; j += 8) mx = _mm256_max_ps(mx, _mm256_load_ps(s + j));
        const float m_new = std::max(m, hmax(mx));
        const float alpha = (m == neg_inf) ? 0.f : std::exp2(m - m_new);
        const __m256 mv = _mm256_set1_ps(m_new);
        __m256 sum = _mm256_setzero_ps();
        for (int j = 0; j < cols; j += 8) {
            const __m256 e = exp2_nonpos(_mm256_sub_ps(_mm256_load_ps(s + j), mv));
            _mm256_store_ps(s + j, e);
            sum = _mm256_add_ps(sum, e);
        }
        l = l * alpha + hsum(sum);
        m = m_new;
        if (alpha != 1.f) {
            const __m256 av = _mm256_set1_ps(alpha);
            for (int c = 0; c < DP; c += 8) _mm256_store_ps(o + c, _mm256_mul_ps(_mm256_load_ps(o + c), av));
        }
    }
};
#endif

inline constexpr int prefetch_ahead = 4;  // key rows

/// Prefetches the cache lines of n floats from p (when they are close together).
inline void prefetch_row(const float* p, index_t n) {
#if defined(__GNUC__) || defined(__clang__)
    if (n > 256) return;
    for (index_t i = 0; i < n; i += 16) __builtin_prefetch(p + i);
    __builtin_prefetch(p + n - 1);
#else
    (void)p, (void)n;
#endif
}

/// Everything one call needs, in plain pointers and strides.
struct Operand {
    const float* data;
    index_t row_stride, col_stride;
};

/// Packs key block kb of window w, head h (keys kb·BK .. kb·BK+BK-1 of the window).
template <int D>
void pack_kv(const Operand& k, const Operand& v, const AttentionLayout& layout, index_t w, int h, index_t kb,
             float* dst) {
    constexpr int DP = padded_dim<D>;
    float* kt = dst;
    float* vb = dst + std::size_t(DP) * BK;
    const index_t L = layout.window_size();
    const int nk = int(std::min<index_t>(BK, L - kb * BK));
    const index_t wbase = layout.window_base(w);
    index_t koff[BK];
    auto cur = layout.cursor(kb * BK);
    for (int j = 0; j < nk; ++j, cur.next()) koff[j] = wbase + cur.offset();
    const index_t kc = index_t(h) * D * k.col_stride, vc = index_t(h) * D * v.col_stride;
    for (int j = 0; j < nk; ++j) {
        // The source rows are strided (one head's slice of a token row): fetch ahead.
        if (j + prefetch_ahead < nk) {
            const index_t tp = koff[j + prefetch_ahead];
            prefetch_row(k.data + tp * k.row_stride + kc, D * k.col_stride);
            prefetch_row(v.data + tp * v.row_stride + vc, D * v.col_stride);
        }
        const float* ks = k.data + koff[j] * k.row_stride + kc;
        const float* vs = v.data + koff[j] * v.row_stride + vc;
        float* vd = vb + j * DP;
        if (k.col_stride == 1)
            for (int c = 0; c < D; ++c) kt[c * BK + j] = ks[c];
        else
            for (int c = 0; c < D; ++c) kt[c * BK + j] = ks[c * k.col_stride];
        if (v.col_stride == 1)
            for (int c = 0; c < D; ++c) vd[c] = vs[c];
        else
            for (int c = 0; c < D; ++c) vd[c] = vs[c * v.col_stride];
        for (int c = D; c < DP; ++c) kt[c * BK + j] = vd[c] = 0.f;
    }
    for (int j = nk; j < BK; ++j)
        for (int c = 0; c < DP; ++c) kt[c * BK + j] = vb[j * DP + c] = 0.f;
}

/// Work item: query block qb of window w, head h, against the packed key/value blocks
/// of that window and head.
template <class K, int D>
void attend_block(const Operand& q, float* out, index_t out_rs, index_t out_cs, const AttentionLayout& layout,
                  float qscale, index_t w, int h, index_t qb, const float* kv, Scratch<padded_dim<D>>& sc) {
    constexpr int DP = padded_dim<D>;
    const index_t L = layout.window_size();
    const index_t nkb = (L + BK - 1) / BK;
    const index_t wbase = layout.window_base(w);
    const index_t r0 = qb * BQ;
    const int nq = int(std::min<index_t>(BQ, L - r0));
    const int rows = (nq + MR - 1) / MR * MR;
    index_t qoff[BQ];

    // Query block, pre-scaled (scale·log2 e); padding rows and columns zero.
    auto cur = layout.cursor(r0);
    const index_t qc = index_t(h) * D * q.col_stride;
    for (int i = 0; i < nq; ++i, cur.next()) {
        qoff[i] = wbase + cur.offset();
        const float* src = q.data + qoff[i] * q.row_stride + qc;
        float* dst = sc.q + i * DP;
        if (q.col_stride == 1)
            for (int c = 0; c < D; ++c) dst[c] = src[c] * qscale;
        else
            for (int c = 0; c < D; ++c) dst[c] = src[c * q.col_stride] * qscale;
        for (int c = D; c < DP; ++c) dst[c] = 0.f;
    }
    std::fill(sc.q + std::size_t(nq) * DP, sc.q + std::size_t(rows) * DP, 0.f);
    std::fill(sc.o, sc.o + std::size_t(rows) * DP, 0.f);
    std::fill(sc.m, sc.m + BQ, neg_inf);
    std::fill(sc.l, sc.l + BQ, 0.f);

    for (index_t kb = 0; kb < nkb; ++kb) {
        const float* kt = kv + std::size_t(kb) * kv_block_floats<DP>;
        const float* vb = kt + std::size_t(DP) * BK;
        const int nk = int(std::min<index_t>(BK, L - kb * BK));
        const int cols = (nk + NR - 1) / NR * NR;
        K::template qk<DP>(sc.q, kt, sc.s, rows, cols);
        for (int i = 0; i < nq; ++i) {
            float* srow = sc.s + i * BK;
            for (int j = nk; j < cols; ++j) srow[j] = neg_inf;
            K::template softmax_row<DP>(srow, cols, sc.m[i], sc.l[i], sc.o + i * DP);
        }
        K::template pv<DP>(sc.s, vb, sc.o, rows, cols);
    }

    // out = O / l, to the queries' own token rows and this head's channels.
    const index_t oc = index_t(h) * D * out_cs;
    for (int i = 0; i < nq; ++i) {
        const float inv = 1.f / sc.l[i];
        const float* o = sc.o + i * DP;
        float* dst = out + qoff[i] * out_rs + oc;
        if (out_cs == 1)
            for (int c = 0; c < D; ++c) dst[c] = o[c] * inv;
        else
            for (int c = 0; c < D; ++c) dst[c * out_cs] = o[c] * inv;
    }
}

/// Runs all (window, head) pairs with kernel set K. Pairs go in batches: the key/value
/// blocks of a batch are packed once (in parallel over blocks; every source row is read
/// once per head), then its (pair, query block) items run in parallel. A batch holds one
/// pair, or enough small pairs to give every thread several items, so the packed buffer
/// stays linear in the window size.
template <class K, int Heads, int D>
void run(const Operand& q, const Operand& k, const Operand& v, float* out, index_t out_rs, index_t out_cs,
         const AttentionLayout& layout, float qscale) {
    constexpr int DP = padded_dim<D>;
    using Scr = Scratch<DP>;
    constexpr std::size_t kvb = kv_block_floats<DP>;
    const index_t L = layout.window_size();
    const index_t nqb = (L + BQ - 1) / BQ, nkb = (L + BK - 1) / BK;
    const index_t pairs = layout.window_count() * Heads;
    const index_t threads = std::max<index_t>(1, max_threads());
    const index_t batch = std::clamp<index_t>((8 * threads + nqb - 1) / nqb, 1, pairs);
    const int nthreads = int(std::min<index_t>(threads, batch * std::max(nqb, nkb)));
    Storage<float, cpu> packed(std::size_t(batch * nkb) * kvb);
    Storage<float, cpu> scratch(Scr::stride * std::size_t(nthreads));
    float* const kv = packed.data();
    float* const sbase = scratch.data();

#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
#ifdef _OPENMP
        const int tid = omp_get_thread_num();
#else
        const int tid = 0;
#endif
        Scr sc(sbase + Scr::stride * std::size_t(tid));
        for (index_t p0 = 0; p0 < pairs; p0 += batch) {
            const index_t np = std::min(batch, pairs - p0);
#pragma omp for schedule(static)
            for (index_t it = 0; it < np * nkb; ++it) {
                const index_t pair = p0 + it / nkb;
                pack_kv<D>(k, v, layout, pair / Heads, int(pair % Heads), it % nkb, kv + std::size_t(it) * kvb);
            }
#pragma omp for schedule(dynamic, 1)
            for (index_t it = 0; it < np * nqb; ++it) {
                const index_t local = it / nqb, pair = p0 + local;
                attend_block<K, D>(q, out, out_rs, out_cs, layout, qscale, pair / Heads, int(pair % Heads), it % nqb,
                                   kv + std::size_t(local * nkb) * kvb, sc);
            }
        }
    }
}

template <class V>
Operand operand(const V& v) {
    return {v.data(), v.stride(0), v.stride(1)};
}

}  // namespace detail::attn

/// Multi-head attention over the windows of `layout`.
///
/// q, k, v: [layout.tokens(), Heads·HeadDim] float views or tensors, token-major (rows in
/// the reference's token order; any strides, e.g. column slices of one [N, 3C] qkv
/// buffer); out: [layout.tokens(), Heads·HeadDim]. Within each window, every query attends
/// to every key of that window (per head): out[t, h·D + c] = Σ_s softmax_s(q_t·k_s·scale)
/// v[s, h·D + c]. `out` may be q itself (the same elements); it must not overlap k or v.
/// Throws cascadev::Error on a shape mismatch (naming the shapes); a static one does not
/// compile.
template <int Heads, int HeadDim, HostReadable XQ, HostReadable XK, HostReadable XV, HostWritable XO>
void multi_head_attention(XQ&& q, XK&& k, XV&& v, XO&& out, const AttentionLayout& layout,
                          const AttentionOptions& opt = {}) {
    static_assert(Heads > 0 && HeadDim > 0, "cascadev::multi_head_attention: Heads and HeadDim must be positive");
    constexpr index_t C = index_t(Heads) * HeadDim;
    using VQ = host_view_t<XQ>;
    using VK = host_view_t<XK>;
    using VV = host_view_t<XV>;
    using VO = host_view_t<XO>;
    static_assert(VQ::rank == 2 && VK::rank == 2 && VV::rank == 2 && VO::rank == 2,
                  "cascadev::multi_head_attention: q, k, v and out must be rank 2 [tokens, Heads*HeadDim]");
    static_assert(std::is_same_v<host_value_t<XQ>, float> && std::is_same_v<host_value_t<XK>, float> &&
                      std::is_same_v<host_value_t<XV>, float> && std::is_same_v<host_value_t<XO>, float>,
                  "cascadev::multi_head_attention: the CPU kernel takes float32 operands");
    static_assert(detail::compatible(VQ::extents_type::static_extent(1), C) &&
                      detail::compatible(VK::extents_type::static_extent(1), C) &&
                      detail::compatible(VV::extents_type::static_extent(1), C) &&
                      detail::compatible(VO::extents_type::static_extent(1), C),
                  "cascadev::multi_head_attention: channel dim must be Heads*HeadDim");

    const auto qv = host_cview(q);
    const auto kv = host_cview(k);
    const auto vv = host_cview(v);
    const auto ov = host_view(out);
    const index_t N = layout.tokens();
    auto check = [&](const auto& x, const char* name) {
        if (x.extent(0) != N || x.extent(1) != C)
            fail("multi_head_attention<", Heads, ", ", HeadDim, ">: ", name, " has shape ", x.extents().str(),
                 ", expected [", N, ", ", C, "] (tokens of the layout: ", layout.videos(), " video(s) of ",
                 layout.grid().frames, "x", layout.grid().height, "x", layout.grid().width, ")");
    };
    check(qv, "q");
    check(kv, "k");
    check(vv, "v");
    check(ov, "out");
    if (N == 0) return;

    const double scale = opt.scale ? *opt.scale : 1.0 / std::sqrt(double(HeadDim));
    const float qscale = float(scale * 1.4426950408889634);  // log2(e): softmax via exp2
    bool wide = false;
    switch (opt.kernel) {
        case AttentionKernel::automatic: wide = attention_avx2_available(); break;
        case AttentionKernel::portable: wide = false; break;
        case AttentionKernel::avx2:
            if (!attention_avx2_available())
                fail("multi_head_attention: the AVX2+FMA kernel was requested but is not available on this "
                     "CPU/compiler");
            wide = true;
            break;
    }
    const auto Q = detail::attn::operand(qv), K = detail::attn::operand(kv), V = detail::attn::operand(vv);
#if CASCADEV_ATTENTION_AVX2
    if (wide) {
        detail::attn::run<detail::attn::Avx2, Heads, HeadDim>(Q, K, V, ov.data(), ov.stride(0), ov.stride(1),
                                                               layout, qscale);
        return;
    }
#endif
    (void)wide;
    detail::attn::run<detail::attn::Portable, Heads, HeadDim>(Q, K, V, ov.data(), ov.stride(0), ov.stride(1),
                                                               layout, qscale);
}

}  // namespace cascadev
